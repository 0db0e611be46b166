"""The AI service's side of a mission grant, importable on its own (it needs `cryptography` only,
no Django): load the private key, unwrap a grant into its Mission Data Key, and check that a
record is inside the grant. Failures come back as values with a reason, never as exceptions."""

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MDK_BYTES = 32
NOT_CONFIGURED = "not-configured"
EXPIRED = "expired"
MALFORMED = "malformed"
WRAP_REJECTED = "wrap-rejected"
RECORD_NOT_IN_ALLOWLIST = "record-not-in-grant-allowlist"


@dataclass(frozen=True)
class Unwrapped:
    key: bytes | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.key is not None


def load_private_key(pem: str | bytes | None) -> rsa.RSAPrivateKey | None:
    """A PKCS#8 PEM RSA private key, or None when there is none (or it is not one)."""
    if not pem:
        return None
    try:
        key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPrivateKey) else None


def _expired(expires_at: Any, now: datetime) -> bool:
    if not isinstance(expires_at, str):
        return True
    try:
        moment = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    except ValueError:
        return True  # an unreadable expiry is treated as past: fail closed
    if moment.tzinfo is None:
        return True
    return moment <= now


def unwrap_grant(grant: dict[str, Any], private_key: rsa.RSAPrivateKey | None, *, now: datetime | None = None) -> Unwrapped:
    if private_key is None:
        return Unwrapped(None, NOT_CONFIGURED)
    if _expired(grant.get("expiresAt"), now or datetime.now(UTC)):
        return Unwrapped(None, EXPIRED)
    wrapped = grant.get("wrappedKey")
    if not isinstance(wrapped, str):
        return Unwrapped(None, MALFORMED)
    try:
        ciphertext = base64.b64decode(wrapped, validate=True)
    except (binascii.Error, ValueError):
        return Unwrapped(None, MALFORMED)
    if len(ciphertext) != private_key.key_size // 8:
        return Unwrapped(None, MALFORMED)
    try:
        key = private_key.decrypt(
            ciphertext, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        )
    except ValueError:
        return Unwrapped(None, WRAP_REJECTED)
    if len(key) != MDK_BYTES:
        return Unwrapped(None, WRAP_REJECTED)
    return Unwrapped(key)


def record_not_allowed(grant: dict[str, Any], table: str, record_id: str) -> str | None:
    """None when `table:record_id` is one of the grant's records, else the reason to refuse it."""
    derivation = grant.get("derivation") or {}
    if table in (derivation.get("tables") or []) and f"{table}:{record_id}" in (derivation.get("recordIds") or []):
        return None
    return RECORD_NOT_IN_ALLOWLIST
