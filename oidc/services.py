"""Writes of the OpenID Connect provider: who may be given a code, consents, revoking what a
client holds, registering clients. Every step of the flow leaves a security event."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret

from accounts.models import LockoutState, User
from accounts.services.lockout import locked
from core.errors import ApiError, ErrorCode
from core.origin import NO_ORIGIN, Origin
from core.services import security_event_record
from oidc.keys import signing_key_ensure
from oidc.models import AccessToken, Application, Consent, Grant, IDToken, RefreshToken


def event_record(type: str, *, user_id: str | None, origin: Origin, client_id: str | None = None, **metadata: Any) -> None:
    """One security event of the provider (type OIDC_*), naming the client; never a token or code."""
    security_event_record(
        type=f"OIDC_{type}", user_id=user_id, origin=origin, metadata={"clientId": client_id, **metadata} if client_id else metadata
    )


def authorization_refusal(user: User) -> str | None:
    """Why this person may not be given a code (or a refreshed token) right now, else None: an
    account that is deactivated or erased, or whose password sign-in is locked out."""
    if not user.is_active:
        return "deactivated"
    if user.deleted_at is not None:
        return "erased"
    state = LockoutState.objects.filter(email=user.email).first()
    if state is not None and locked(state, timezone.now()):
        return "locked"
    return None


def _scope_text(scopes: Iterable[str]) -> str:
    return " ".join(sorted(set(scopes)))


def consent_covers(*, user_id: str, application: Application, scopes: Iterable[str]) -> bool:
    """Whether the user already approved this client for every one of `scopes`."""
    consent = Consent.objects.active().filter(user_id=user_id, application=application).first()
    return consent is not None and set(scopes) <= set(consent.scopes)


def consent_record(*, user_id: str, application: Application, scopes: Iterable[str], origin: Origin) -> Consent:
    """The user approved the client for `scopes`: kept with those approved before, so the
    question is asked again only for a scope not yet approved."""
    with transaction.atomic():
        consent = Consent.objects.active().select_for_update().filter(user_id=user_id, application=application).first()
        if consent is None:
            consent = Consent.objects.create(user_id=user_id, application=application, scope=_scope_text(scopes))
        else:
            consent.scope = _scope_text([*consent.scopes, *scopes])
            consent.granted_at = timezone.now()
            consent.save(update_fields=["scope", "granted_at"])
        event_record("CONSENT_GIVEN", user_id=user_id, origin=origin, client_id=application.client_id, scope=consent.scope)
    return consent


def consent_revoke(*, actor: User, consent_id: str, origin: Origin) -> None:
    """The user withdraws a client's approval: its codes, access, refresh and ID tokens end too.
    Another person's consent is a 404, like one that does not exist."""
    with transaction.atomic():
        consent = Consent.objects.active().select_for_update().select_related("application").filter(pk=consent_id, user=actor).first()
        if consent is None:
            raise ApiError(ErrorCode.NOT_FOUND)
        Consent.objects.filter(pk=consent.pk).revoke()
        client_tokens_revoke(user_id=actor.id, application=consent.application)
        event_record("CONSENT_REVOKED", user_id=actor.id, origin=origin, client_id=consent.application.client_id)


def client_tokens_revoke(*, user_id: str, application: Application) -> None:
    """Everything the client holds for the user: refresh tokens revoked (kept, so a replay is
    recognised), access and ID tokens deleted, unredeemed codes marked used."""
    now = timezone.now()
    RefreshToken.objects.filter(user_id=user_id, application=application, revoked__isnull=True).update(
        revoked=now, updated=now, access_token=None
    )
    AccessToken.objects.filter(user_id=user_id, application=application).delete()
    IDToken.objects.filter(user_id=user_id, application=application).delete()
    Grant.objects.filter(user_id=user_id, application=application, used_at__isnull=True).update(used_at=now)


def token_family_revoke(token_family: UUID) -> None:
    """Every token descended from one authorization code (RFC 6749 §4.1.2: a code used twice)."""
    RefreshToken.revoke_family(token_family)
    AccessToken.objects.filter(token_family=token_family).delete()
    IDToken.objects.filter(token_family=token_family).delete()


@dataclass(frozen=True)
class ClientCreated:
    client_id: str
    client_secret: str | None  # shown once; only its hash is kept


def client_secret_new(application: Application) -> str | None:
    """A fresh secret for a confidential client, set on it to be hashed when it is saved
    (django-oauth-toolkit's hashing) and returned for showing once; None for a public client."""
    if application.client_type == Application.CLIENT_PUBLIC:
        application.client_secret = ""
        application.hash_client_secret = False  # nothing to hash: it authenticates by PKCE alone
        return None
    secret = str(generate_client_secret())
    application.client_secret = secret
    application.hash_client_secret = True
    return secret


def client_registered(*, application: Application, actor_id: str | None, origin: Origin, reset: bool = False) -> None:
    """After a client is saved new (or given a new secret): the JWKS lists the RS256 key before
    the client's first sign-in, and the registration is an event naming who did it."""
    signing_key_ensure()
    event_record("CLIENT_SECRET_RESET" if reset else "CLIENT_CREATED", user_id=actor_id, origin=origin, client_id=application.client_id)


def client_create(*, name: str, redirect_uris: list[str], post_logout_redirect_uris: list[str], public: bool) -> ClientCreated:
    """A relying party registered by an operator from the command line. A public one has no
    secret and must use PKCE."""
    application = Application(
        name=name,
        client_type=Application.CLIENT_PUBLIC if public else Application.CLIENT_CONFIDENTIAL,
        redirect_uris=" ".join(redirect_uris),
        post_logout_redirect_uris=" ".join(post_logout_redirect_uris),
    )
    secret = client_secret_new(application)
    application.full_clean()
    with transaction.atomic():
        application.save()
        client_registered(application=application, actor_id=None, origin=NO_ORIGIN)
    return ClientCreated(client_id=application.client_id, client_secret=secret)
