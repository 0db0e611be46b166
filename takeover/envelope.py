"""The old service's sealed values (TOTP secrets, backup codes, signing keys): XChaCha20-Poly1305
under SHA-256 of its secret, stored as hex of nonce ‖ ciphertext ‖ tag, opened with libsodium."""

import hashlib
import json
from typing import Any

from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
from nacl.exceptions import CryptoError

NONCE_BYTES = 24
VERSION_PREFIX = "$ba$"  # `$ba$<version>$<hex>`: sealed under a versioned secret


class EnvelopeError(Exception):
    """A value does not open under the secret (a wrong secret, or a damaged value)."""


class Envelope:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(secret.encode()).digest()

    def open(self, stored: str) -> bytes:
        text = stored.strip()
        if text.startswith(VERSION_PREFIX):
            text = text.split("$", 3)[3]
        try:
            sealed = bytes.fromhex(text)
        except ValueError as exc:
            raise EnvelopeError("not a sealed value") from exc
        if len(sealed) <= NONCE_BYTES:
            raise EnvelopeError("not a sealed value")
        try:
            return crypto_aead_xchacha20poly1305_ietf_decrypt(sealed[NONCE_BYTES:], None, sealed[:NONCE_BYTES], self._key)
        except CryptoError as exc:
            raise EnvelopeError("does not open under this secret") from exc

    def open_text(self, stored: str) -> str:
        return self.open(stored).decode()

    def open_json(self, stored: str) -> Any:
        return json.loads(self.open(stored))

    def open_quoted_json(self, stored: str) -> Any:
        """The signing keys' form: a JSON string literal holding the sealed hex."""
        unquoted = json.loads(stored)
        if not isinstance(unquoted, str):
            raise EnvelopeError("not a sealed value")
        return self.open_json(unquoted)
