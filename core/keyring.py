"""The KEK keyring: AES-256-GCM wrapping of every secret the service keeps at rest.

One active KEK wraps; retired KEKs (MANA_AUTH_OLD_KEKS) only unwrap, so a KEK can be rotated
without downtime. Every wrapped value records the id of the KEK that wrapped it.
"""

import base64
import binascii
import functools
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEK_BYTES = 32
IV_BYTES = 12
_TEXT_FORMAT = "kw1"


class KeyringError(Exception):
    """A wrapped secret cannot be unwrapped (unknown KEK, tampering). Maps to 503, never 500."""


@dataclass(frozen=True)
class Wrapped:
    kek_id: str
    iv: bytes
    ciphertext: bytes

    def to_text(self) -> str:
        """One string for a single model field: `kw1:<kek id>:<iv b64>:<ciphertext b64>`."""
        iv = base64.b64encode(self.iv).decode()
        return f"{_TEXT_FORMAT}:{self.kek_id}:{iv}:{base64.b64encode(self.ciphertext).decode()}"

    @classmethod
    def from_text(cls, text: str) -> "Wrapped":
        parts = text.split(":")
        if len(parts) != 4 or parts[0] != _TEXT_FORMAT:
            raise KeyringError("not a wrapped value")
        try:
            return cls(kek_id=parts[1], iv=base64.b64decode(parts[2], validate=True), ciphertext=base64.b64decode(parts[3], validate=True))
        except binascii.Error as exc:
            raise KeyringError("not a wrapped value") from exc


def parse_kek(name: str, value: str) -> bytes:
    """A KEK is the base64 of exactly 32 bytes; anything else is refused in every environment."""
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{name} is not valid base64; it must be the base64 of exactly 32 random bytes.") from exc
    if len(key) != KEK_BYTES:
        raise ImproperlyConfigured(f"{name} decodes to {len(key)} bytes; it must be the base64 of exactly 32 random bytes.")
    return key


def parse_retired_keks(value: str) -> dict[str, bytes]:
    """`id:base64,id:base64` → {id: key}."""
    keks: dict[str, bytes] = {}
    for entry in filter(None, (item.strip() for item in value.split(","))):
        kek_id, separator, encoded = entry.partition(":")
        if not separator or not kek_id:
            raise ImproperlyConfigured("MANA_AUTH_OLD_KEKS must be a comma-separated list of id:base64 entries.")
        keks[kek_id] = parse_kek(f"MANA_AUTH_OLD_KEKS entry {kek_id!r}", encoded)
    return keks


class Keyring:
    def __init__(self, active_id: str, keys: dict[str, bytes]) -> None:
        if active_id not in keys:
            raise ImproperlyConfigured("The active KEK id has no key.")
        if ":" in active_id or not active_id:
            raise ImproperlyConfigured("MANA_AUTH_KEK_ID must be a non-empty id without ':'.")
        self.active_id = active_id
        self._keys = dict(keys)

    @property
    def kek_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def wrap(self, plaintext: bytes, *, aad: bytes = b"") -> Wrapped:
        iv = os.urandom(IV_BYTES)
        ciphertext = AESGCM(self._keys[self.active_id]).encrypt(iv, plaintext, aad or None)
        return Wrapped(kek_id=self.active_id, iv=iv, ciphertext=ciphertext)

    def unwrap(self, wrapped: Wrapped, *, aad: bytes = b"") -> bytes:
        key = self._keys.get(wrapped.kek_id)
        if key is None:
            raise KeyringError(f"KEK {wrapped.kek_id!r} is not configured")
        if len(wrapped.iv) != IV_BYTES:
            raise KeyringError("IV must be 12 bytes")
        try:
            return AESGCM(key).decrypt(wrapped.iv, wrapped.ciphertext, aad or None)
        except InvalidTag as exc:
            raise KeyringError("wrapped value failed authentication") from exc

    def _derived_key(self, kek_id: str, purpose: str) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=KEK_BYTES, salt=None, info=f"mana-auth:{purpose}".encode()).derive(self._keys[kek_id])

    def keyed_hashes(self, purpose: str, value: str) -> list[str]:
        """HMAC-SHA256 of `value` (hex) under a key derived for `purpose` from each KEK, the active
        KEK's first: for secrets checked but never needed back (backup codes), which a database
        dump alone must not let anyone test guesses against. Values hashed under a retired KEK
        keep matching as long as that KEK is configured."""
        order = [self.active_id, *sorted(self._keys.keys() - {self.active_id})]
        return [hmac.new(self._derived_key(kek_id, purpose), value.encode(), hashlib.sha256).hexdigest() for kek_id in order]

    def wrap_text(self, plaintext: bytes, *, aad: bytes = b"") -> str:
        return self.wrap(plaintext, aad=aad).to_text()

    def unwrap_text(self, text: str, *, aad: bytes = b"") -> bytes:
        return self.unwrap(Wrapped.from_text(text), aad=aad)

    def rewrap_text(self, text: str, *, aad: bytes = b"") -> str | None:
        """The same secret wrapped by the active KEK, or None when it already is."""
        wrapped = Wrapped.from_text(text)
        if wrapped.kek_id == self.active_id:
            return None
        return self.wrap_text(self.unwrap(wrapped, aad=aad), aad=aad)


@functools.cache
def _keyring_for(active_id: str, active_kek: str, retired_keks: str) -> Keyring:
    keys = parse_retired_keks(retired_keks)
    keys[active_id] = parse_kek("MANA_AUTH_KEK", active_kek)
    return Keyring(active_id, keys)


def get_keyring() -> Keyring:
    """The keyring of the current settings (cached per configuration, so tests may swap KEKs)."""
    return _keyring_for(settings.MANA_AUTH_KEK_ID, settings.MANA_AUTH_KEK, settings.MANA_AUTH_OLD_KEKS)


def rewrap_rows(rows: Any, field: str, aad: Callable[[Any], bytes]) -> int:
    """Re-wrap one text column of `rows` under the active KEK (KEK rotation), row by row;
    values already under it are left alone, so a run can be repeated. Returns how many moved."""
    keyring = get_keyring()
    moved = 0
    for row in rows.exclude(**{field: ""}):
        rewrapped = keyring.rewrap_text(getattr(row, field), aad=aad(row))
        if rewrapped is not None:
            type(row).objects.filter(pk=row.pk).update(**{field: rewrapped})
            moved += 1
    return moved
