"""The profile routes of /api/v1/auth, through HTTP only (API.md §Accounts): reading and updating
the profile, changing the email address, and deleting the account; what each leaves in the
database. Mail goes through the real notify stub on loopback."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import DeviceToken, EmailToken, RefreshToken, Session, User
from core.models import SecurityEvent
from core.rls import acting_as
from core.secrets import token_hash
from mail.models import OutboxMessage
from passkeys.models import Passkey
from tests.notify import NotifyStub
from tests.support import (
    AUTH,
    NEW_PASSWORD,
    PASSWORD,
    Capture,
    ClientFor,
    assert_error,
    assert_validation,
    login_status,
    profile_status,
    request_reset_link,
)
from vault.models import Vault

pytestmark = pytest.mark.django_db


def request_email_change(client: APIClient, notify: NotifyStub, capture: Capture, new_email: str) -> str:
    with capture(execute=True):
        response = client.post(f"{AUTH}/change-email", {"newEmail": new_email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    [delivery] = notify.to(new_email)
    notify.deliveries.clear()
    return delivery.link_token("confirm-email-change")


# --- GET and POST /profile --------------------------------------------------------------------
def test_profile_returns_the_callers_user(alice: User, bob: User, client_for: ClientFor) -> None:
    response = client_for(alice).get(f"{AUTH}/profile")
    assert response.status_code == 200
    user = response.json()  # flat (PLATFORM.md §1)
    assert set(user) == {"id", "name", "email", "emailVerified", "image", "role", "createdAt"}
    assert (user["id"], user["email"], user["name"], user["emailVerified"]) == (alice.id, "alice@example.com", "Alice", True)


def test_profile_update_changes_name_and_image_in_the_database(alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    image = "https://cdn.example.com/avatars/alice.png"

    response = client.post(f"{AUTH}/profile", {"name": "Alice Liddell", "image": image}, format="json")

    assert response.status_code == 200
    assert (response.json()["user"]["name"], response.json()["user"]["image"]) == ("Alice Liddell", image)
    alice.refresh_from_db()
    assert (alice.name, alice.image) == ("Alice Liddell", image)
    event = SecurityEvent.objects.get(user=alice, type="PROFILE_UPDATED")
    assert sorted(event.metadata["fields"]) == ["image", "name"]

    name_only = client.post(f"{AUTH}/profile", {"name": "Alice"}, format="json")
    assert name_only.status_code == 200
    alice.refresh_from_db()
    assert (alice.name, alice.image) == ("Alice", image)


@pytest.mark.parametrize(
    "image", ["http://cdn.example.com/a.png", "javascript:alert(1)", "ftp://cdn.example.com/a.png", "//cdn.example.com"]
)
def test_profile_refuses_an_image_that_is_not_https_and_keeps_the_old_one(alice: User, client_for: ClientFor, image: str) -> None:
    alice.image = "https://cdn.example.com/old.png"
    alice.save(update_fields=["image"])

    response = client_for(alice).post(f"{AUTH}/profile", {"name": "Changed", "image": image}, format="json")

    assert_validation(response, "image")
    alice.refresh_from_db()
    assert (alice.name, alice.image) == ("Alice", "https://cdn.example.com/old.png")
    assert not SecurityEvent.objects.filter(type="PROFILE_UPDATED").exists()


# --- POST /change-email and /confirm-email-change ---------------------------------------------
def test_change_email_mails_the_new_address_and_confirm_switches_it(
    api: APIClient, alice: User, client_for: ClientFor, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{AUTH}/change-email", {"newEmail": "Alice.New@Example.com", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json()["success"] is True
    assert isinstance(response.json()["message"], str)
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    assert [delivery.body["recipient"] for delivery in notify.deliveries] == ["alice.new@example.com"]
    token = notify.deliveries[0].link_token("confirm-email-change")
    notify.deliveries.clear()

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = api.post(f"{AUTH}/confirm-email-change", {"token": token}, format="json")

    assert confirmed.status_code == 200
    assert confirmed.json()["user"]["email"] == "alice.new@example.com"
    alice.refresh_from_db()
    assert (alice.email, alice.email_verified) == ("alice.new@example.com", True)
    assert [delivery.body["recipient"] for delivery in notify.deliveries] == ["alice@example.com"]
    assert "alice.new@example.com" in notify.deliveries[0].body["text"]
    assert login_status("alice.new@example.com", PASSWORD) == 200
    assert login_status("alice@example.com", PASSWORD) == 401
    assert_error(api.post(f"{AUTH}/confirm-email-change", {"token": token}, format="json"), 400, "TOKEN_INVALID")


@pytest.mark.parametrize("taken", ["bob@example.com", "BOB@Example.COM", "alice@example.com"])
def test_change_email_to_a_registered_address_is_refused(
    alice: User, bob: User, client_for: ClientFor, notify: NotifyStub, django_capture_on_commit_callbacks: Capture, taken: str
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(f"{AUTH}/change-email", {"newEmail": taken, "password": PASSWORD}, format="json")
    assert_error(response, 409, "EMAIL_ALREADY_REGISTERED")
    assert not EmailToken.objects.filter(purpose=EmailToken.Purpose.CHANGE_EMAIL).exists()
    assert notify.deliveries == []


def test_web_account_page_changes_the_email_without_a_password_after_a_fresh_sign_in(
    alice: User, client_for: ClientFor, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    client = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{AUTH}/change-email", {"newEmail": "alice.new@example.com"}, format="json")
    assert response.status_code == 200
    assert [delivery.body["recipient"] for delivery in notify.deliveries] == ["alice.new@example.com"]

    Session.objects.filter(user=alice).update(created_at=timezone.now() - timedelta(minutes=16))
    notify.deliveries.clear()
    with django_capture_on_commit_callbacks(execute=True):
        stale = client.post(f"{AUTH}/change-email", {"newEmail": "alice.other@example.com"}, format="json")
    assert_error(stale, 401, "REAUTHENTICATION_REQUIRED")
    assert notify.deliveries == []
    assert EmailToken.objects.filter(purpose=EmailToken.Purpose.CHANGE_EMAIL).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"{AUTH}/change-email", {"newEmail": "alice.other@example.com", "password": PASSWORD}, format="json")
    assert confirmed.status_code == 200  # a password still proves it, however old the sign-in


def test_web_account_page_reads_the_profile_with_its_session_cookie(alice: User) -> None:
    browser = APIClient()
    assert browser.post(f"{AUTH}/login", {"email": alice.email, "password": PASSWORD}, format="json").status_code == 200
    browser.credentials(HTTP_AUTHORIZATION="Bearer an-expired-stored-token")  # the interceptor's stale token
    response = browser.get(f"{AUTH}/profile")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["email"]) == (alice.id, alice.email)


def test_change_email_with_a_wrong_password_is_refused(
    alice: User, client_for: ClientFor, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        body = {"newEmail": "alice.new@example.com", "password": "not the password"}
        response = client_for(alice).post(f"{AUTH}/change-email", body, format="json")
    assert_error(response, 401, "INVALID_CREDENTIALS")
    assert not EmailToken.objects.filter(purpose=EmailToken.Purpose.CHANGE_EMAIL).exists()
    assert notify.deliveries == []
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_confirm_email_change_with_an_expired_token_is_token_expired(
    api: APIClient, alice: User, client_for: ClientFor, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    token = request_email_change(client_for(alice), notify, django_capture_on_commit_callbacks, "alice.new@example.com")
    EmailToken.objects.filter(token_hash=token_hash(token)).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_error(api.post(f"{AUTH}/confirm-email-change", {"token": token}, format="json"), 401, "TOKEN_EXPIRED")
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_confirm_email_change_with_an_unknown_or_reset_token_is_token_invalid(
    api: APIClient, alice: User, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    reset_token = request_reset_link(api, notify, django_capture_on_commit_callbacks, "alice@example.com")
    for token in ("not-a-token", reset_token):
        assert_error(api.post(f"{AUTH}/confirm-email-change", {"token": token}, format="json"), 400, "TOKEN_INVALID")
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_confirm_email_change_to_an_address_taken_meanwhile_is_refused(
    api: APIClient,
    alice: User,
    make_user: Callable[..., User],
    client_for: ClientFor,
    notify: NotifyStub,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    token = request_email_change(client_for(alice), notify, django_capture_on_commit_callbacks, "alice.new@example.com")
    make_user("alice.new@example.com", name="Impostor")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{AUTH}/confirm-email-change", {"token": token}, format="json")

    assert_error(response, 409, "EMAIL_ALREADY_REGISTERED")
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    assert notify.deliveries == []


# --- DELETE /account --------------------------------------------------------------------------
def test_delete_account_with_the_right_password_removes_the_user(alice: User, bob: User, client_for: ClientFor) -> None:
    client, bob_client = client_for(alice), client_for(bob)

    response = client.delete(f"{AUTH}/account", {"password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert not User.objects.filter(pk=alice.pk).exists()
    assert not Session.objects.filter(user_id=alice.pk).exists()
    assert not EmailToken.objects.filter(user_id=alice.pk).exists()
    assert_error(client.get(f"{AUTH}/profile"), 401, "UNAUTHORIZED")
    assert login_status("alice@example.com", PASSWORD) == 401
    assert SecurityEvent.objects.filter(type="ACCOUNT_DELETED", user__isnull=True).count() == 1
    assert profile_status(bob_client) == 200


def test_delete_account_removes_everything_the_user_owns(api: APIClient, alice: User, bob: User, client_for: ClientFor) -> None:
    client, bob_client = client_for(alice), client_for(bob)
    assert api.post(f"{AUTH}/forgot-password", {"email": alice.email}, format="json").status_code == 200
    Passkey.objects.create(user=alice, credential_id="alice-credential", public_key=b"public", name="Laptop")
    assert client.post("/api/v1/me/encryption-vault/init").status_code == 200
    owned = (Session, DeviceToken, EmailToken, OutboxMessage, Passkey, Vault)

    def remaining() -> list[str]:
        # Acting as alice: the vault table is behind row-level security on PostgreSQL.
        with acting_as(alice.pk):
            return [model.__name__ for model in owned if model.objects.filter(user_id=alice.pk).exists()]

    assert remaining() == [model.__name__ for model in owned]

    assert client.delete(f"{AUTH}/account", {"password": PASSWORD}, format="json").status_code == 200

    assert remaining() == []
    assert not RefreshToken.objects.filter(session__user_id=alice.pk).exists()
    assert Session.objects.filter(user=bob).count() == 1
    assert profile_status(bob_client) == 200


def test_delete_account_with_a_wrong_password_keeps_the_user(alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)

    response = client.delete(f"{AUTH}/account", {"password": "not the password"}, format="json")

    assert_error(response, 401, "INVALID_CREDENTIALS")
    assert User.objects.filter(pk=alice.pk).exists()
    assert profile_status(client) == 200


# --- links that must not outlive a change -----------------------------------------------------
def test_an_email_change_voids_open_reset_links(
    api: APIClient, alice: User, client_for: ClientFor, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    reset_token = request_reset_link(api, notify, django_capture_on_commit_callbacks, alice.email)
    confirm_token = request_email_change(client_for(alice), notify, django_capture_on_commit_callbacks, "alice.new@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{AUTH}/confirm-email-change", {"token": confirm_token}, format="json").status_code == 200
    stale = api.post(f"{AUTH}/reset-password", {"token": reset_token, "newPassword": NEW_PASSWORD}, format="json")
    assert_error(stale, 400, "TOKEN_INVALID")
    assert login_status("alice.new@example.com", PASSWORD) == 200
