"""Passwords of the old identity service (Better Auth's scrypt format, MIGRATION.md) keep working:
verified once, then re-hashed with Argon2id. The expected hashes are made with another scrypt
implementation (cryptography's) than the hasher's (hashlib's)."""

import unicodedata

import pytest
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from rest_framework.test import APIClient

from accounts.hashers import BetterAuthScryptPasswordHasher
from accounts.models import User

pytestmark = pytest.mark.django_db

SALT = "0123456789abcdef0123456789abcdef"  # 32 hex characters; their UTF-8 bytes are the salt


def old_service_hash(password: str, salt: str = SALT) -> str:
    """What the old service stored: `<salt>:<key>`, 161 characters."""
    key = Scrypt(salt=salt.encode(), length=64, n=16384, r=16, p=1).derive(unicodedata.normalize("NFKC", password).encode())
    return f"{salt}:{key.hex()}"


def imported_user(password: str) -> User:
    stored = old_service_hash(password)
    assert len(stored) == 161
    return User.objects.create(email="imported@example.com", email_verified=True, password=f"better_auth_scrypt${stored}")


def test_an_imported_password_signs_in_and_is_upgraded_to_argon2id() -> None:
    user = imported_user("Pässwörd of the old days")

    response = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": "Pässwörd of the old days"}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("Pässwörd of the old days")


def test_a_wrong_password_against_an_imported_hash_is_a_credential_failure() -> None:
    user = imported_user("the right one, 42")
    response = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": "the wrong one, 42"}, format="json")
    assert (response.status_code, response.json()["code"]) == (401, "INVALID_CREDENTIALS")
    user.refresh_from_db()
    assert user.password.startswith("better_auth_scrypt$")  # nothing upgraded on a failure


def test_the_password_is_normalised_as_the_old_service_did() -> None:
    # "ﬁ" (U+FB01) is "fi" under NFKC: the old service hashed the normalised form.
    encoded = "better_auth_scrypt$" + old_service_hash("ﬁne passphrase")
    assert BetterAuthScryptPasswordHasher().verify("fine passphrase", encoded)


def test_malformed_stored_values_never_verify() -> None:
    hasher = BetterAuthScryptPasswordHasher()
    good = "better_auth_scrypt$" + old_service_hash("x" * 12)
    for broken in (good[:-2], good.replace(":", ""), "better_auth_scrypt$short:abc", good.replace("better_auth_scrypt", "scrypt")):
        assert hasher.verify("x" * 12, broken) is False
    assert set(hasher.safe_summary(good)) == {"algorithm", "salt", "hash"}
    assert SALT not in str(hasher.safe_summary(good))
