from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from core.errors import ApiError, ErrorCode

DEFAULT_PAGE = "/account"


def allowed_redirect_hosts() -> set[str]:
    hosts = {urlsplit(origin).netloc for origin in [*settings.CORS_ORIGINS, settings.BASE_URL]}
    return {host for host in hosts if host}


def trusted_origins() -> set[str]:
    """The web origins the service trusts with cookies (CSRF) and redirects: CORS_ORIGINS and its own."""
    return {origin.rstrip("/") for origin in [*settings.CORS_ORIGINS, settings.BASE_URL] if origin}


def request_origin(request: HttpRequest) -> str | None:
    """The Origin header, else the origin of the Referer (scheme://host[:port])."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return origin.rstrip("/")
    referer = urlsplit(request.headers.get("Referer", ""))
    return f"{referer.scheme}://{referer.netloc}" if referer.scheme and referer.netloc else None


def origin_require_trusted(request: HttpRequest, *, absent_allowed: bool) -> None:
    """CSRF by origin (the platform's clients send no token): a request that names an origin must
    name a trusted one; `absent_allowed` says whether naming none is acceptable (it is not for a
    request that rides on the session cookie)."""
    origin = request_origin(request)
    if (origin is None and not absent_allowed) or (origin is not None and origin not in trusted_origins()):
        raise ApiError(ErrorCode.FORBIDDEN, "This request must come from a trusted origin.")


def safe_next(request: HttpRequest, candidate: object) -> str:
    """Only to our own pages or an allowed origin; anything else (a JSON list or number among it)
    lands on the default page."""
    if (
        isinstance(candidate, str)
        and candidate
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts=allowed_redirect_hosts() | {request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return DEFAULT_PAGE


def trusted_target(candidate: str | None) -> str:
    """A redirect target a caller named (sourceAppUrl, redirectTo, callbackURL): kept when it is a
    relative path or lies on a trusted origin, else the web app."""
    if candidate:
        parts = urlsplit(candidate)
        if not parts.scheme and not parts.netloc and candidate.startswith("/") and not candidate.startswith("//"):
            return candidate
        if parts.scheme in ("http", "https") and f"{parts.scheme}://{parts.netloc}" in trusted_origins():
            return candidate
    return str(settings.WEB_APP_URL)
