import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.hashers import Argon2PasswordHasher, BasePasswordHasher, mask_hash

from core.hash_slots import PASSWORD_HASH_SLOTS
from core.memory import heap_trim_when_idle


@contextmanager
def _hashing() -> Iterator[None]:
    """A memory-hard hash: in one of the host's hash slots (one per core), and the heap trimmed
    once the hashing stops (Argon2id leaves its 19 MiB block to the next hash until then)."""
    try:
        with PASSWORD_HASH_SLOTS.held():
            yield
    finally:
        heap_trim_when_idle()


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with the OWASP parameters (m=19 MiB, t=2, p=1).

    Django's defaults spend 100 MiB across 8 lanes; on the small hosts this service runs on that
    buys little extra cost for an attacker and a lot of latency for every sign-in.
    """

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        with _hashing():
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        with _hashing():
            return super().verify(password, encoded)


class BetterAuthScryptPasswordHasher(BasePasswordHasher):
    """The old identity service's password hashes (Better Auth), so its users keep their
    passwords: `better_auth_scrypt$<salt>:<key>`, where `<salt>:<key>` is the old 161-character
    value as it was stored. The salt is 32 hex characters whose UTF-8 bytes are the scrypt salt;
    the key is scrypt(NFKC(password), N=16384, r=16, p=1, dkLen=64) in hex. Only ever verified:
    a successful sign-in re-hashes with Argon2id, the preferred hasher."""

    algorithm = "better_auth_scrypt"
    n, r, p, dklen = 16384, 16, 1, 64
    maxmem = 64 * 1024 * 1024  # these parameters need 32 MiB and a little more

    def _key(self, password: str, salt: str) -> str:
        normalised = unicodedata.normalize("NFKC", password).encode()
        with _hashing():
            return hashlib.scrypt(normalised, salt=salt.encode(), n=self.n, r=self.r, p=self.p, dklen=self.dklen, maxmem=self.maxmem).hex()

    def salt(self) -> str:
        return secrets.token_hex(16)

    def encode(self, password: str, salt: str) -> str:
        return f"{self.algorithm}${salt}:{self._key(password, salt)}"

    def decode(self, encoded: str) -> dict[str, Any]:
        algorithm, _, value = encoded.partition("$")
        salt, _, key = value.partition(":")
        if algorithm != self.algorithm or len(salt) != 32 or len(key) != 2 * self.dklen:
            raise ValueError("not a Better Auth scrypt hash")
        return {"algorithm": algorithm, "salt": salt, "hash": key}

    def verify(self, password: str, encoded: str) -> bool:
        try:
            decoded = self.decode(encoded)
        except ValueError:
            return False
        return hmac.compare_digest(self._key(password, decoded["salt"]), decoded["hash"])

    def safe_summary(self, encoded: str) -> dict[Any, Any]:
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "salt": mask_hash(decoded["salt"]), "hash": mask_hash(decoded["hash"])}

    def must_update(self, encoded: str) -> bool:
        return True

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None
