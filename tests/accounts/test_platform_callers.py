"""PLATFORM.md §1 as the platform's callers call it: each test replays one caller's request and
asserts the fields that caller reads (the routes with more to them have their own files:
test_better_auth for the cookie and SSO, the session, profile and data-rights tests for theirs)."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Session, User
from tests.support import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

AUTH = "/api/v1/auth"
WEB = "http://localhost:5173"


def bearer_client(tokens: dict[str, Any]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['accessToken']}")
    return client


def test_persona_runner_signs_in_and_reads_token_and_user_id(alice: User) -> None:
    body = APIClient().post(f"{AUTH}/login", {"email": alice.email, "password": PASSWORD}, format="json").json()
    assert body["token"] == body["accessToken"] and body["user"]["id"] == alice.id
    assert {"refreshToken", "tokenType", "expiresIn", "deviceToken"} <= set(body)


@pytest.mark.parametrize(
    ("password", "status", "code"), [("wrong password", 401, "INVALID_CREDENTIALS"), (PASSWORD, 403, "EMAIL_NOT_VERIFIED")]
)
def test_shared_login_ui_reacts_to_the_sign_in_codes(make_user: Any, password: str, status: int, code: str) -> None:
    user = make_user("unverified@example.com", verified=False)
    response = APIClient().post(f"{AUTH}/login", {"email": user.email, "password": password, "deviceId": "d1"}, format="json")
    assert (response.status_code, response.json()["code"], response.json()["error"]) == (status, code, code)


def test_web_sign_up_reads_the_new_users_id_and_unverified_address() -> None:
    body = {"email": "nora@example.com", "password": "a sturdy passphrase 42", "name": "Nora", "sourceAppUrl": f"{WEB}/start"}
    response = APIClient().post(f"{AUTH}/register", body, format="json")
    assert response.status_code == 201
    assert response.json()["user"]["emailVerified"] is False
    assert User.objects.filter(pk=response.json()["user"]["id"]).exists()
    again = APIClient().post(f"{AUTH}/register", body, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "EMAIL_ALREADY_REGISTERED")


def test_web_resend_verification_always_answers_success(make_user: Any) -> None:
    make_user("pending@example.com", verified=False)
    for email in ("pending@example.com", "nobody@example.com"):
        response = APIClient().post(f"{AUTH}/resend-verification", {"email": email, "sourceAppUrl": WEB}, format="json")
        assert response.json() == {"success": True}


def test_shared_client_refresh_reads_both_tokens(alice: User) -> None:
    tokens = sign_in(APIClient(), alice.email)
    body = APIClient().post(f"{AUTH}/refresh", {"refreshToken": tokens["refreshToken"]}, format="json").json()
    assert body["accessToken"] and body["refreshToken"] and body["refreshToken"] != tokens["refreshToken"]


def test_shared_client_logout_with_an_empty_body_ends_the_bearers_session(alice: User) -> None:
    tokens = sign_in(APIClient(), alice.email)
    response = bearer_client(tokens).post(f"{AUTH}/logout", data=b"", content_type="application/json")
    assert response.json() == {"success": True}
    assert not Session.objects.filter(user=alice, revoked_at__isnull=True).exists()


def test_go_sync_service_validates_and_reads_the_claims(alice: User) -> None:
    tokens = sign_in(APIClient(), alice.email)
    good = APIClient().post(f"{AUTH}/validate", {"token": tokens["accessToken"]}, format="json").json()
    assert good["valid"] is True
    assert {"sub", "email", "role", "sid", "tier"} <= set(good["payload"])
    bad = APIClient().post(f"{AUTH}/validate", {"token": "garbage"}, format="json")
    assert (bad.status_code, bad.json()["valid"]) == (200, False)


def test_web_settings_renames_the_user_and_changes_the_password(alice: User) -> None:
    tokens = sign_in(APIClient(), alice.email)
    client = bearer_client(tokens)
    assert client.post(f"{AUTH}/profile", {"name": "Alicia"}, format="json").json()["user"]["name"] == "Alicia"
    changed = client.post(
        f"{AUTH}/change-password", {"currentPassword": PASSWORD, "newPassword": "a new sturdy passphrase 9"}, format="json"
    )
    assert changed.status_code == 200
    refused = client.post(f"{AUTH}/change-password", {"currentPassword": "wrong", "newPassword": "another one 12345"}, format="json")
    assert refused.status_code == 401 and refused.json()["message"]


def test_web_account_deletion_sends_password_and_reason(alice: User) -> None:
    tokens = sign_in(APIClient(), alice.email)
    response = bearer_client(tokens).delete(f"{AUTH}/account", {"password": PASSWORD, "reason": "moving on"}, format="json")
    assert response.status_code == 200
    assert not User.objects.filter(pk=alice.pk).exists()


def test_dev_setup_script_probes_signup_status() -> None:
    assert APIClient().get(f"{AUTH}/signup-status").status_code == 200
