"""EdDSA access tokens: signing keys in the database (private half KEK-wrapped), `kid` in every
header, verification by kid, the JWKS. PyJWT signs and checks the claims (aud, iss, exp).

Keys are immutable once made, so each process keeps the ones it has loaded; which key is active
is re-read every ACTIVE_KEY_TTL seconds, so a rotation reaches every worker within that time.
"""

import base64
import binascii
import functools
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import SigningKey
from core.keyring import get_keyring, rewrap_rows
from core.models import unique_row_insert
from core.rewrap import RewrapCount, rewrapper

ALGORITHM = "EdDSA"
ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
ACTIVE_KEY_TTL = 30.0
# A retired key stays published while tokens it signed can still be valid, plus the time other
# workers may keep signing with it before they notice the rotation.
PUBLISH_AFTER_RETIREMENT = ACCESS_TOKEN_LIFETIME + timedelta(seconds=ACTIVE_KEY_TTL) + timedelta(minutes=1)


class TokenExpiredError(Exception):
    pass


class TokenInvalidError(Exception):
    pass


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _aad(kid: str) -> bytes:
    return f"jwt-signing-key:{kid}".encode()


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    private: Ed25519PrivateKey | None
    public: Ed25519PublicKey

    def encode(self, payload: dict[str, Any]) -> str:
        if self.private is None:
            raise RuntimeError(f"signing key {self.kid} is retired and cannot sign")
        claims = payload | {"aud": settings.JWT_AUDIENCE, "iss": settings.JWT_ISSUER}
        return pyjwt.encode(claims, self.private, algorithm=ALGORITHM, headers={"kid": self.kid})

    def decode(self, token: str) -> dict[str, Any]:
        # exp is required: PyJWT checks it only when asked to or when it is there.
        return pyjwt.decode(
            token,
            self.public,
            algorithms=[ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            options={"require": ["exp"]},
        )


class _KeyCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, LoadedKey] = {}
        self._active: tuple[str, float] | None = None

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self._active = None
        _verified_claims.cache_clear()

    def key(self, kid: str) -> LoadedKey | None:
        loaded = self._keys.get(kid)
        if loaded is None:
            row = SigningKey.objects.filter(kid=kid).first()
            if row is None:
                return None
            loaded = _load(row)
            with self._lock:
                self._keys[kid] = loaded
        return loaded

    def active(self) -> LoadedKey:
        cached = self._active
        if cached is not None and time.monotonic() - cached[1] < ACTIVE_KEY_TTL:
            key = self.key(cached[0])
            if key is not None:
                return key
        row = SigningKey.objects.filter(active=True).first() or _create_first_key()
        loaded = _load(row)
        with self._lock:
            self._keys[row.kid] = loaded
            self._active = (row.kid, time.monotonic())
        return loaded


def _load(row: SigningKey) -> LoadedKey:
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(row.public_key + "=" * (-len(row.public_key) % 4)))
    private = None
    if row.active:
        private_bytes = get_keyring().unwrap_text(row.private_key_wrapped, aad=_aad(row.kid))
        private = Ed25519PrivateKey.from_private_bytes(private_bytes)
    return LoadedKey(kid=row.kid, private=private, public=public)


_cache = _KeyCache()


def _new_key_row(*, active: bool) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = f"{timezone.now():%Y%m%d}-{secrets.token_hex(4)}"
    return SigningKey(
        kid=kid, private_key_wrapped=get_keyring().wrap_text(raw_private, aad=_aad(kid)), public_key=_b64url(raw_public), active=active
    )


def signing_key_import(*, kid: str, private_raw: bytes, created_at: datetime) -> SigningKey:
    """Another issuer's Ed25519 key (the old service's), kept under its `kid`: verify-only from
    now on, published like a key just rotated out, so the tokens it signed keep verifying."""
    private = Ed25519PrivateKey.from_private_bytes(private_raw)
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    row = SigningKey(
        kid=kid,
        private_key_wrapped=get_keyring().wrap_text(private_raw, aad=_aad(kid)),
        public_key=_b64url(raw_public),
        created_at=created_at,
        active=False,
        retired_at=timezone.now(),
    )
    row.save(force_insert=True)
    _cache.clear()
    return row


def _create_first_key() -> SigningKey:
    """The first token ever issued makes the first key. Two workers racing here both end up with
    the one the unique index let in."""
    return unique_row_insert(SigningKey, lambda: _new_key_row(active=True), active=True)


def signing_key_rotate() -> SigningKey:
    """A new active key; the old one signs no more but stays in the JWKS until its tokens expire."""
    with transaction.atomic():
        now = timezone.now()
        SigningKey.objects.select_for_update().filter(active=True).update(active=False, retired_at=now)
        row = _new_key_row(active=True)
        row.save(force_insert=True)
    _cache.clear()
    return row


def clear_key_cache() -> None:
    _cache.clear()


def encode_access_token(claims: dict[str, Any]) -> str:
    now = timezone.now()
    payload = claims | {"iat": int(now.timestamp()), "exp": int((now + ACCESS_TOKEN_LIFETIME).timestamp())}
    return _cache.active().encode(payload)


def _header_of(token: str) -> dict[str, Any]:
    """The JOSE header, read only to choose the key by its `kid`; PyJWT then checks the whole
    token (every segment's encoding, the header's `alg`, the signature) in its one parse of it."""
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, RecursionError) as exc:  # RecursionError: "[[[[…" nested past Python's limit
        raise TokenInvalidError from exc
    if not isinstance(header, dict):
        raise TokenInvalidError
    return header


# A client sends its access token with every request for the token's 15 minutes: each worker
# checks a token's signature once and keeps its claims (a few hundred bytes each).
VERIFIED_TOKENS_KEPT = 1024


@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified_claims(token: str) -> dict[str, Any]:
    """The claims of a token whose signature (by kid), aud, iss and exp have passed; a failure is
    not kept, so a token that failed is checked in full again."""
    header = _header_of(token)
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str):
        raise TokenInvalidError
    key = _cache.key(kid)
    if key is None:
        raise TokenInvalidError
    try:
        return key.decode(token)
    except pyjwt.ExpiredSignatureError as exc:
        raise TokenExpiredError from exc
    except pyjwt.InvalidTokenError as exc:
        raise TokenInvalidError from exc


def decode_access_token(token: str) -> dict[str, Any]:
    """Verify signature (by kid), aud, iss and exp (required). Raises TokenExpiredError or TokenInvalidError."""
    claims = _verified_claims(token)
    # Kept claims expire as the token does, by the wall clock PyJWT checked them with (not
    # core.clock, which tests move for what the service expires itself).
    if int(claims["exp"]) <= time.time():
        raise TokenExpiredError
    return dict(claims)  # a copy: what a caller does with it cannot reach the kept claims


def published_keys() -> list[SigningKey]:
    cutoff = timezone.now() - PUBLISH_AFTER_RETIREMENT
    keys = list(SigningKey.objects.filter(active=True)) or [_create_first_key()]
    return keys + list(SigningKey.objects.filter(active=False, retired_at__gt=cutoff).order_by("-retired_at"))


def jwks() -> dict[str, list[dict[str, str]]]:
    """Our EdDSA keys first (the platform's verifiers select by `kid`, and some take the first),
    then the keys apps above accounts sign with (the OpenID Connect provider's RS256 keys), which
    their AppConfig offers as `published_jwks()`: found in the app registry, never imported."""
    from django.apps import apps

    keys = [
        {"kty": "OKP", "crv": "Ed25519", "x": key.public_key, "kid": key.kid, "alg": ALGORITHM, "use": "sig"} for key in published_keys()
    ]
    for app in apps.get_app_configs():
        published = getattr(app, "published_jwks", None)
        if published is not None:
            keys.extend(published())
    return {"keys": keys}


@rewrapper("JWT signing keys", SigningKey, order=20)
def signing_keys_rewrap(**_: Any) -> RewrapCount:
    """Re-wrap the private halves under the active KEK (KEK rotation)."""
    moved = rewrap_rows(SigningKey.objects.all(), "private_key_wrapped", lambda row: _aad(row.kid))
    _cache.clear()
    return RewrapCount(moved)
