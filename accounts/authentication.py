"""DRF authentication by Bearer access token; a token of a revoked session is refused."""

from dataclasses import dataclass
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.models import User
from accounts.services.tokens import access_token_check
from core.errors import ApiError, ErrorCode


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


def actor_of(request: Request) -> User:
    """The signed-in user of a view behind IsAuthenticated."""
    if not isinstance(request.user, User):
        raise ApiError(ErrorCode.UNAUTHORIZED)
    return request.user


def session_id_of(request: Request) -> str | None:
    return request.auth.session_id if isinstance(request.auth, AccessToken) else None
