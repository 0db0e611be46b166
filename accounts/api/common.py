"""The answers several account routes share."""

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from accounts import jwt
from accounts.device_cookie import device_token_from
from accounts.serializers import UserSerializer
from accounts.services.tokens import SignIn, TokenPair
from accounts.session_cookie import sign_in_cookies_set
from core.api import NO_STORE, represented


def token_pair_body(tokens: TokenPair) -> dict[str, Any]:
    return {
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
        "tokenType": "Bearer",
        "expiresIn": int(jwt.ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


def sign_in_response(sign_in: SignIn, body: dict[str, Any] | None = None) -> Response:
    """The one answer of every sign-in that ends in tokens (API.md; `token` is the access token
    again, for the platform's persona runner), with the session cookie bound to the sign-in's
    session (PLATFORM.md §9) and the device cookie. `body` replaces the JSON (the Better Auth door)."""
    if body is None:
        pair = token_pair_body(sign_in.tokens)
        user = represented(UserSerializer, sign_in.user)
        body = {"user": user, **pair, "token": pair["accessToken"], "deviceToken": sign_in.device_token}
    response = Response(body, headers=NO_STORE)
    sign_in_cookies_set(response, sign_in)
    return response


def device_token_of(request: Request, data: dict[str, Any]) -> str | None:
    """The device token in the body, else the device cookie."""
    return data.get("deviceToken") or device_token_from(request._request)
