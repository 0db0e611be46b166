"""RS256 keys of the OpenID Connect provider: kept in the database with the private half wrapped by
the KEK keyring (as accounts keeps its EdDSA keys), published in the same JWKS after the EdDSA
keys, rotated by `rotate_jwt_key`. `kid` is the key's RFC 7638 thumbprint, which is what
django-oauth-toolkit writes into the ID token header.

Keys never change once made, so each process keeps those it has unwrapped; which key is active is
re-read every ACTIVE_KEY_TTL seconds, so a rotation reaches every worker within that time."""

import threading
import time
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.utils import timezone
from jwcrypto import jwk
from oauth2_provider.settings import oauth2_settings

from core.keyring import get_keyring, rewrap_rows
from core.models import unique_row_insert
from core.rewrap import RewrapCount, rewrapper
from oidc.models import RsaSigningKey

ALGORITHM = "RS256"
RSA_KEY_BITS = 2048
ACTIVE_KEY_TTL = 30.0


def publish_after_retirement() -> timedelta:
    """How long a retired key stays published: while ID tokens it signed can be valid, plus the
    time other workers may keep signing with it before they notice the rotation."""
    return timedelta(seconds=oauth2_settings.ID_TOKEN_EXPIRE_SECONDS + ACTIVE_KEY_TTL + 60)


def _aad(kid: str) -> bytes:
    return f"oidc-signing-key:{kid}".encode()


def _new_key_row(*, active: bool) -> RsaSigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key = jwk.JWK.from_pem(pem)
    kid = key.thumbprint()
    public = {**key.export_public(as_dict=True), "kid": kid, "alg": ALGORITHM, "use": "sig"}
    return RsaSigningKey(kid=kid, private_key_wrapped=get_keyring().wrap_text(pem, aad=_aad(kid)), public_jwk=public, active=active)


def _unwrapped(row: RsaSigningKey) -> jwk.JWK:
    return jwk.JWK.from_pem(get_keyring().unwrap_text(row.private_key_wrapped, aad=_aad(row.kid)))


class _SigningKeyCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._private: dict[str, jwk.JWK] = {}
        self._active: tuple[str, float] | None = None

    def clear(self) -> None:
        with self._lock:
            self._private.clear()
            self._active = None

    def active(self) -> jwk.JWK:
        cached = self._active
        if cached is not None and time.monotonic() - cached[1] < ACTIVE_KEY_TTL and cached[0] in self._private:
            return self._private[cached[0]]
        row = RsaSigningKey.objects.filter(active=True).first() or signing_key_ensure()
        key = self._private.get(row.kid) or _unwrapped(row)
        with self._lock:
            self._private[row.kid] = key
            self._active = (row.kid, time.monotonic())
        return key


_cache = _SigningKeyCache()


def clear_key_cache() -> None:
    _cache.clear()


def signing_jwk() -> jwk.JWK:
    """The active private key (made on first use), for django-oauth-toolkit to sign ID tokens with."""
    return _cache.active()


def signing_key_ensure() -> RsaSigningKey:
    """The active key, made now if there is none: registering the first client calls this, so the
    JWKS lists the key before any relying party fetches it. Racing workers both end up with the
    one the unique index let in."""
    return RsaSigningKey.objects.filter(active=True).first() or unique_row_insert(
        RsaSigningKey, lambda: _new_key_row(active=True), active=True
    )


def signing_key_rotate() -> RsaSigningKey | None:
    """A new active key; the old one signs no more but stays published until its ID tokens have
    expired. None when the provider has no key yet (its first is made with the first client)."""
    with transaction.atomic():
        now = timezone.now()
        if not RsaSigningKey.objects.select_for_update().filter(active=True).update(active=False, retired_at=now):
            return None
        row = _new_key_row(active=True)
        row.save(force_insert=True)
    _cache.clear()
    return row


def published_jwks() -> list[dict[str, Any]]:
    """The public keys a verifier may meet in a live ID token: the active one, then the retired ones
    newest first. None is made here: the JWKS of a service without clients stays EdDSA only."""
    cutoff = timezone.now() - publish_after_retirement()
    rows = list(RsaSigningKey.objects.filter(active=True)) + list(
        RsaSigningKey.objects.filter(active=False, retired_at__gt=cutoff).order_by("-retired_at")
    )
    return [dict(row.public_jwk) for row in rows]


def verification_keys() -> jwk.JWKSet:
    """Every public key ever used, for checking our own ID tokens (an `id_token_hint` at sign-out
    may be older than the published window); the token's `kid` picks one."""
    keys = jwk.JWKSet()
    for public in RsaSigningKey.objects.values_list("public_jwk", flat=True):
        keys.add(jwk.JWK(**public))
    return keys


@rewrapper("OIDC signing keys", RsaSigningKey, order=25)
def signing_keys_rewrap(**_: Any) -> RewrapCount:
    """Re-wrap the private halves under the active KEK (KEK rotation)."""
    moved = rewrap_rows(RsaSigningKey.objects.all(), "private_key_wrapped", lambda row: _aad(row.kid))
    _cache.clear()
    return RewrapCount(moved)
