"""The password routes of /api/v1/auth, through HTTP only (API.md §Accounts): forgotten-password
mail, resetting through the mailed link, and changing the password; what each leaves in the
database. Mail goes through the real notify stub on loopback."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import EmailToken, User
from core import clock
from core.models import SecurityEvent
from core.secrets import token_hash
from tests.notify import NotifyStub
from tests.support import (
    AUTH,
    NEW_PASSWORD,
    PASSWORD,
    Capture,
    ClientFor,
    active_session_ids,
    assert_error,
    login_status,
    profile_status,
    request_reset_link,
    session_id_of,
    tokens_of,
)

pytestmark = pytest.mark.django_db

WEAK_PASSWORDS = ("12345678", "password")


# --- POST /forgot-password and /resend-verification -------------------------------------------
@pytest.mark.parametrize("route", ["/resend-verification", "/forgot-password"])
def test_unknown_addresses_get_success_and_no_mail(
    api: APIClient, alice: User, notify: NotifyStub, django_capture_on_commit_callbacks: Capture, route: str
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{AUTH}{route}", {"email": "nobody@example.com"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert notify.deliveries == []
    assert not EmailToken.objects.exists()


@pytest.mark.parametrize("route", ["/forgot-password", "/resend-verification"])
def test_sixth_mail_request_from_one_ip_within_fifteen_minutes_is_rate_limited(
    api: APIClient, alice: User, route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limits count in fixed windows: hold the clock at the start of one, so the burst cannot
    # straddle two.
    monkeypatch.setattr(clock, "timestamp", lambda: 1_800_000_000.0)
    for _ in range(5):
        response = api.post(f"{AUTH}{route}", {"email": "nobody@example.com"}, format="json", REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 200

    sixth = api.post(f"{AUTH}{route}", {"email": alice.email}, format="json", REMOTE_ADDR="203.0.113.9")

    body = assert_error(sixth, 429, "RATE_LIMITED")
    assert isinstance(body["retryAfterSec"], int)
    assert body["retryAfterSec"] >= 1
    assert body["retryAfterSec"] <= 15 * 60
    assert sixth.headers["Retry-After"] == str(body["retryAfterSec"])
    assert not EmailToken.objects.filter(user=alice).exists()
    other_ip = api.post(f"{AUTH}{route}", {"email": "nobody@example.com"}, format="json", REMOTE_ADDR="203.0.113.10")
    assert other_ip.status_code == 200


# --- POST /reset-password ---------------------------------------------------------------------
def test_reset_password_via_the_mailed_link_sets_the_password_and_revokes_all_sessions(
    api: APIClient, alice: User, client_for: ClientFor, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    phone, laptop = client_for(alice), client_for(alice)
    token = request_reset_link(api, notify, django_capture_on_commit_callbacks, "alice@example.com")

    response = api.post(f"{AUTH}/reset-password", {"token": token, "newPassword": NEW_PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert active_session_ids(alice) == set()
    assert (profile_status(phone), profile_status(laptop)) == (401, 401)
    refreshed = api.post(f"{AUTH}/refresh", {"refreshToken": tokens_of(phone)["refreshToken"]}, format="json")
    assert_error(refreshed, 401, "TOKEN_INVALID")
    old = api.post(f"{AUTH}/login", {"email": alice.email, "password": PASSWORD}, format="json")
    assert_error(old, 401, "INVALID_CREDENTIALS")
    assert login_status(alice.email, NEW_PASSWORD) == 200
    assert SecurityEvent.objects.filter(user=alice, type="PASSWORD_RESET_COMPLETED").count() == 1

    again = api.post(f"{AUTH}/reset-password", {"token": token, "newPassword": "yet another sturdy passphrase"}, format="json")
    assert_error(again, 400, "TOKEN_INVALID")
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_reset_password_with_an_expired_token_is_token_expired(
    api: APIClient, alice: User, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    token = request_reset_link(api, notify, django_capture_on_commit_callbacks, "alice@example.com")
    EmailToken.objects.filter(token_hash=token_hash(token)).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api.post(f"{AUTH}/reset-password", {"token": token, "newPassword": NEW_PASSWORD}, format="json")

    assert_error(response, 401, "TOKEN_EXPIRED")
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.parametrize("weak", WEAK_PASSWORDS)
def test_reset_password_refuses_a_weak_password_and_the_link_still_works(
    api: APIClient, alice: User, client_for: ClientFor, notify: NotifyStub, django_capture_on_commit_callbacks: Capture, weak: str
) -> None:
    client = client_for(alice)
    token = request_reset_link(api, notify, django_capture_on_commit_callbacks, "alice@example.com")

    response = api.post(f"{AUTH}/reset-password", {"token": token, "newPassword": weak}, format="json")

    body = assert_error(response, 400, "WEAK_PASSWORD")
    assert list(body["fields"]) == ["newPassword"]
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert profile_status(client) == 200
    retry = api.post(f"{AUTH}/reset-password", {"token": token, "newPassword": NEW_PASSWORD}, format="json")
    assert retry.status_code == 200


def test_reset_password_with_unknown_superseded_or_foreign_purpose_tokens_is_token_invalid(
    api: APIClient, make_user: Callable[..., User], notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    nora = make_user("nora@example.com", verified=False)
    first = request_reset_link(api, notify, django_capture_on_commit_callbacks, "nora@example.com")
    second = request_reset_link(api, notify, django_capture_on_commit_callbacks, "nora@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"{AUTH}/resend-verification", {"email": "nora@example.com"}, format="json")
    verification = notify.to("nora@example.com")[0].link_token("verify-email")

    for token in ("not-a-token", first, verification):
        response = api.post(f"{AUTH}/reset-password", {"token": token, "newPassword": NEW_PASSWORD}, format="json")
        assert_error(response, 400, "TOKEN_INVALID")
    nora.refresh_from_db()
    assert nora.check_password(PASSWORD)
    assert api.post(f"{AUTH}/reset-password", {"token": second, "newPassword": NEW_PASSWORD}, format="json").status_code == 200


# --- POST /change-password --------------------------------------------------------------------
def test_change_password_revokes_other_sessions_but_keeps_the_current_one(api: APIClient, alice: User, client_for: ClientFor) -> None:
    current, other = client_for(alice), client_for(alice)

    response = current.post(f"{AUTH}/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert active_session_ids(alice) == {session_id_of(current)}
    assert profile_status(current) == 200
    assert_error(other.get(f"{AUTH}/profile"), 401, "UNAUTHORIZED")
    assert_error(api.post(f"{AUTH}/refresh", {"refreshToken": tokens_of(other)["refreshToken"]}, format="json"), 401, "TOKEN_INVALID")
    assert api.post(f"{AUTH}/refresh", {"refreshToken": tokens_of(current)["refreshToken"]}, format="json").status_code == 200
    assert login_status(alice.email, PASSWORD) == 401
    assert login_status(alice.email, NEW_PASSWORD) == 200
    assert SecurityEvent.objects.filter(user=alice, type="PASSWORD_CHANGED").count() == 1


def test_change_password_with_a_wrong_current_password_changes_nothing(alice: User, client_for: ClientFor) -> None:
    current, other = client_for(alice), client_for(alice)

    response = current.post(f"{AUTH}/change-password", {"currentPassword": "wrong one", "newPassword": NEW_PASSWORD}, format="json")

    assert_error(response, 401, "INVALID_CREDENTIALS")
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert active_session_ids(alice) == {session_id_of(current), session_id_of(other)}


@pytest.mark.parametrize("weak", WEAK_PASSWORDS)
def test_change_password_refuses_a_weak_new_password(alice: User, client_for: ClientFor, weak: str) -> None:
    current, other = client_for(alice), client_for(alice)

    response = current.post(f"{AUTH}/change-password", {"currentPassword": PASSWORD, "newPassword": weak}, format="json")

    body = assert_error(response, 400, "WEAK_PASSWORD")
    assert list(body["fields"]) == ["newPassword"]
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert active_session_ids(alice) == {session_id_of(current), session_id_of(other)}


# --- links that must not outlive a change -----------------------------------------------------
def test_a_password_change_voids_open_reset_links(
    api: APIClient, alice: User, client_for: ClientFor, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    reset_token = request_reset_link(api, notify, django_capture_on_commit_callbacks, alice.email)
    changed = client_for(alice).post(f"{AUTH}/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, format="json")
    assert changed.status_code == 200
    stale = api.post(f"{AUTH}/reset-password", {"token": reset_token, "newPassword": "yet another passphrase"}, format="json")
    assert_error(stale, 400, "TOKEN_INVALID")
    assert login_status(alice.email, NEW_PASSWORD) == 200
