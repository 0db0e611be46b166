import pytest
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient

from accounts.models import User
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db


def test_an_old_pbkdf2_hash_signs_in_and_is_upgraded_to_argon2id(api: APIClient, make_user) -> None:
    user = make_user("legacy@example.com")
    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    response = api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.parametrize(
    "password",
    ["short1!", "12345678901", "password123", "legacy@example.com", "x" * 129],
)
def test_weak_passwords_are_refused_with_fields(api: APIClient, password: str) -> None:
    response = api.post("/api/v1/auth/register", {"email": "legacy@example.com", "password": password}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "WEAK_PASSWORD"
    assert list(response.json()["fields"]) == ["password"]
    assert not User.objects.filter(email="legacy@example.com").exists()


def test_a_failing_mail_service_neither_fails_nor_uncounts_the_locking_attempt(
    api: APIClient, alice: User, notify, django_capture_on_commit_callbacks
) -> None:
    notify.stop()
    with django_capture_on_commit_callbacks(execute=True):
        codes = [
            api.post("/api/v1/auth/login", {"email": alice.email, "password": "wrong password!"}, format="json").status_code
            for _ in range(5)
        ]
    assert codes == [401] * 5
    locked = api.post("/api/v1/auth/login", {"email": alice.email, "password": PASSWORD}, format="json")
    assert locked.json()["error"] == "ACCOUNT_LOCKED"
    assert alice.outbox_messages.get().status == "pending"  # the lock notice waits for the mail service


def test_registering_an_address_twice_is_a_conflict(api: APIClient, alice: User) -> None:
    response = api.post("/api/v1/auth/register", {"email": "ALICE@example.com", "password": "another fine passphrase"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "EMAIL_ALREADY_REGISTERED"
    assert User.objects.filter(email="alice@example.com").count() == 1
