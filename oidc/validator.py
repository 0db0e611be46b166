"""django-oauth-toolkit's request validator with the provider's rules (settings
OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]):

- a code is single use, and a second use revokes every token the first one started (RFC 6749
  §4.1.2); a code is bound to its client, so another client presenting it gets invalid_grant;
- no code, and no refreshed token, for an account that is deactivated, erased or (for a code)
  locked out;
- refresh tokens only with `offline_access`; rotated on use, a replay revokes the family;
- PKCE required for public clients;
- ID tokens carry `auth_time` of the browser sign-in and the claims of the granted scopes;
- every step and every refusal is a security event.

The library calls these methods with oauthlib's request, never a Django one; `origin` rebuilds who
called from the headers it copied."""

import hashlib
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from jwcrypto import jwk
from oauth2_provider.models import set_token_value
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749 import errors

from accounts.models import User
from core.logging import request_id_var
from core.origin import Origin
from oidc import keys
from oidc.models import AccessToken, Application, Grant, IDToken, RefreshToken
from oidc.services import authorization_refusal, event_record, token_family_revoke

OFFLINE_ACCESS = "offline_access"


def origin(request: Request) -> Origin:
    """Who called, from the request headers (and WSGI environ) the library copied into oauthlib's request."""
    http = HttpRequest()
    http.META = dict(request.headers)
    http.request_id = request_id_var.get()  # type: ignore[attr-defined]
    return Origin.of(http)


def _client_id(request: Request) -> str | None:
    client = getattr(request, "client", None)
    return client.client_id if isinstance(client, Application) else getattr(request, "client_id", None)


class ManaValidator(OAuth2Validator):
    # --- clients ----------------------------------------------------------------------------
    def authenticate_client(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        authenticated = bool(super().authenticate_client(request, *args, **kwargs))
        if not authenticated:
            event_record("CLIENT_AUTHENTICATION_FAILED", user_id=None, origin=origin(request), client_id=_client_id(request))
        return authenticated

    def is_pkce_required(self, client_id: str, request: Request) -> bool:
        """Public clients have no secret: the code verifier is what binds the code to them."""
        client = self._load_application(client_id, request)
        return client is None or client.client_type == Application.CLIENT_PUBLIC

    # --- authorization codes ------------------------------------------------------------------
    def validate_silent_login(self, request: Request) -> bool:
        return True  # the authorization view only gets here with a signed-in browser

    def validate_silent_authorization(self, request: Request) -> bool:
        return True  # the authorization view answers consent_required itself: it knows the user

    def save_authorization_code(self, client_id: str, code: dict[str, str], request: Request, *args: Any, **kwargs: Any) -> None:
        refusal = authorization_refusal(request.user)
        if refusal is not None:
            event_record("AUTHORIZATION_REFUSED", user_id=request.user.id, origin=origin(request), client_id=client_id, reason=refusal)
            raise errors.AccessDeniedError(request=request)
        grant = self._create_authorization_code(request, code)
        Grant.objects.filter(pk=grant.pk).update(auth_time=getattr(request, "auth_time", None))
        event_record("CODE_ISSUED", user_id=request.user.id, origin=origin(request), client_id=client_id, scope=grant.scope)

    def validate_code(self, client_id: str, code: str, client: Application, request: Request, *args: Any, **kwargs: Any) -> bool:
        grant = Grant.objects.select_related("user").filter(code=code).first()
        if grant is None:
            return False
        who = {"user_id": grant.user_id, "origin": origin(request), "client_id": client.client_id}
        if grant.application_id != client.pk:
            event_record("CODE_WRONG_CLIENT", **who)
            return False
        if grant.used_at is not None:
            token_family_revoke(grant.token_family)
            event_record("CODE_REUSED", **who)
            return False
        if grant.is_expired():
            return False
        refusal = authorization_refusal(grant.user)
        if refusal is not None:
            event_record("TOKEN_REFUSED", reason=refusal, **who)
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        request.token_family = grant.token_family
        request.auth_time = grant.auth_time
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return True

    def invalidate_authorization_code(self, client_id: str, code: str, request: Request, *args: Any, **kwargs: Any) -> None:
        """Marked used, not deleted, so a second use is recognised. Two exchanges racing past
        validate_code: the one that loses here revokes the family, the winner's tokens with it."""
        if not Grant.objects.filter(code=code, application=request.client, used_at__isnull=True).update(used_at=timezone.now()):
            token_family_revoke(request.token_family)
            event_record("CODE_REUSED", user_id=request.user.id, origin=origin(request), client_id=_client_id(request))
            raise errors.InvalidGrantError(request=request)

    # --- refresh tokens ----------------------------------------------------------------------
    def validate_refresh_token(self, refresh_token: str, client: Application, request: Request, *args: Any, **kwargs: Any) -> bool:
        valid = bool(super().validate_refresh_token(refresh_token, client, request, *args, **kwargs))
        stored: RefreshToken | None = getattr(request, "refresh_token_instance", None)
        if not valid:
            replayed = RefreshToken.objects.filter(token_checksum=self._checksum(refresh_token), revoked__isnull=False).first()
            if replayed is not None:
                event_record("REFRESH_TOKEN_REUSED", user_id=replayed.user_id, origin=origin(request), client_id=client.client_id)
            return False
        if stored is None:
            return False
        refusal = authorization_refusal(stored.user)
        if refusal is not None and refusal != "locked":  # the lockout guards password sign-ins, not sessions
            event_record("TOKEN_REFUSED", user_id=stored.user_id, origin=origin(request), client_id=client.client_id, reason=refusal)
            return False
        request.token_family = stored.token_family
        request.auth_time = Grant.objects.filter(token_family=stored.token_family).values_list("auth_time", flat=True).first()
        return True

    @staticmethod
    def _checksum(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()  # how the library finds a token it keeps hashed

    # --- issuing tokens ----------------------------------------------------------------------
    def _save_bearer_token(self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any) -> None:
        if request.grant_type == "authorization_code" and OFFLINE_ACCESS not in (request.scopes or []):
            token.pop("refresh_token", None)  # the same dict becomes the response body
        super()._save_bearer_token(token, request, *args, **kwargs)
        event_record(
            "TOKENS_ISSUED",
            user_id=request.user.id,
            origin=origin(request),
            client_id=_client_id(request),
            grantType=request.grant_type,
            scope=token.get("scope", ""),
            refreshToken="refresh_token" in token,
        )

    def _create_access_token(
        self, expires: datetime, request: Request, token: dict[str, Any], source_refresh_token: Any = None
    ) -> AccessToken:
        id_token = token.get("id_token")
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=self._load_id_token(id_token) if id_token else None,
            application=request.client,
            source_refresh_token=source_refresh_token,
            token_family=getattr(request, "token_family", None),
        )
        set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token

    def _create_refresh_token(
        self, request: Request, refresh_token_code: str, access_token: AccessToken, previous_refresh_token: Any
    ) -> RefreshToken:
        family = previous_refresh_token.token_family if previous_refresh_token else getattr(request, "token_family", None)
        refresh_token = RefreshToken(user=request.user, application=request.client, access_token=access_token, token_family=family)
        set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        return refresh_token

    def _save_id_token(self, jti: str, request: Request, expires: datetime, *args: Any, **kwargs: Any) -> IDToken:
        return IDToken.objects.create(
            user=request.user,
            scope=request.scope or " ".join(request.scopes),
            expires=expires,
            jti=jti,
            application=request.client,
            token_family=getattr(request, "token_family", None),
        )

    # --- ID tokens and userinfo ----------------------------------------------------------------
    def get_oidc_issuer_endpoint(self, request: Any) -> str:
        return str(settings.JWT_ISSUER)

    def get_additional_claims(self, request: Request) -> dict[str, Any]:
        user: User = request.user
        return {"email": user.email, "email_verified": user.email_verified, "name": user.name}

    def get_id_token_dictionary(self, token: dict[str, Any], token_handler: Any, request: Request) -> tuple[dict[str, Any], datetime]:
        claims, expires = super().get_id_token_dictionary(token, token_handler, request)
        auth_time = getattr(request, "auth_time", None)
        if auth_time is not None:  # the browser's sign-in, not the user's latest anywhere (last_login)
            claims["auth_time"] = int(auth_time.timestamp())
        return claims, expires

    def _get_key_for_token(self, token: str) -> jwk.JWKSet | None:
        """Our ID tokens verify against every key we ever signed with, selected by `kid`, so a
        hint signed before a rotation is still ours. (The library would try the active key only.)"""
        return keys.verification_keys()
