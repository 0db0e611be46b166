"""TOTP (RFC 6238: SHA-1, 6 digits, 30 s) through pyotp, with the step a code matched, so an
accepted code can be refused for the rest of its window."""

import hashlib
import hmac

import pyotp

from core import clock

DIGITS = 6
INTERVAL = 30
TOLERANCE_STEPS = 1
SECRET_BASE32_CHARS = 32  # 160 bits
ISSUER = "Mana"


def new_secret() -> str:
    return pyotp.random_base32(length=SECRET_BASE32_CHARS)


def _totp(secret: str, digits: int = DIGITS) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=digits, digest=hashlib.sha1, interval=INTERVAL)


def code_at(secret: str, timestamp: float, *, digits: int = DIGITS) -> str:
    return _totp(secret, digits).at(timestamp)


def provisioning_uri(secret: str, email: str) -> str:
    return _totp(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step whose code equals `code` (now ±1 step), or None."""
    moment = clock.timestamp() if now is None else now
    totp = _totp(secret)
    current = totp.timecode(moment)
    for offset in range(-TOLERANCE_STEPS, TOLERANCE_STEPS + 1):
        if hmac.compare_digest(totp.at(moment, counter_offset=offset), code):
            return current + offset
    return None
