from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

DEFAULT_PAGE = "/account"


def allowed_redirect_hosts() -> set[str]:
    hosts = {urlsplit(origin).netloc for origin in [*settings.CORS_ORIGINS, settings.BASE_URL]}
    return {host for host in hosts if host}


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """Only to our own pages or an allowed origin; anything else lands on the default page."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts=allowed_redirect_hosts() | {request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return DEFAULT_PAGE
