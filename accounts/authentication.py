"""DRF authentication: by Bearer access token, by the platform's session cookie, or either
(PLATFORM.md §0). A token or cookie of a revoked session is refused."""

from dataclasses import dataclass
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.models import User
from accounts.services.tokens import access_token_check
from accounts.session_cookie import session_cookie_from, session_of_cookie
from core.errors import ApiError, ErrorCode
from core.redirects import origin_require_trusted

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class AccessToken:
    payload: dict[str, Any]
    session_id: str


class BearerAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        check = access_token_check(token.strip())
        if not check.valid or check.session is None or check.payload is None:
            raise ApiError(ErrorCode.TOKEN_EXPIRED if check.reason == "expired" else ErrorCode.UNAUTHORIZED)
        return check.session.user, AccessToken(payload=check.payload, session_id=check.session.id)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="mana"'


class CookieAuthentication(BaseAuthentication):
    """The session cookie. The clients send no CSRF token, so a state-changing request that
    rides on the cookie must come from a trusted origin (Origin, else Referer): 403 otherwise,
    before anything is done."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        session = session_of_cookie(session_cookie_from(request._request))
        if session is None:
            return None
        if request.method not in SAFE_METHODS:
            origin_require_trusted(request._request, absent_allowed=False)
        return session.user, AccessToken(payload={}, session_id=session.id)


class CookieOrBearerAuthentication(BaseAuthentication):
    """Either door. A valid cookie wins over an invalid or expired Bearer (the clients' interceptor
    sends whatever token it stored); when both are valid, the Bearer decides."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        bearer_error: ApiError | None = None
        try:
            bearer = BearerAuthentication().authenticate(request)
        except ApiError as error:
            bearer, bearer_error = None, error
        if bearer is not None:
            return bearer
        cookie = CookieAuthentication().authenticate(request)
        if cookie is not None:
            return cookie
        if bearer_error is not None:
            raise bearer_error
        return None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="mana"'


def actor_of(request: Request) -> User:
    """The signed-in user of a view behind IsAuthenticated."""
    if not isinstance(request.user, User):
        raise ApiError(ErrorCode.UNAUTHORIZED)
    return request.user


def session_id_of(request: Request) -> str | None:
    return request.auth.session_id if isinstance(request.auth, AccessToken) else None
