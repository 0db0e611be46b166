"""The account routes of /api/v1/auth beyond registration, through HTTP only (API.md §Accounts):
who may call each route, how bad input is refused, and what a successful call leaves in the
database. Mail goes through the real notify stub on loopback."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings
from rest_framework.test import APIClient

from accounts import jwt
from accounts.models import DeviceToken, EmailToken, OutboxMessage, RefreshToken, Session, User
from core import clock
from core.models import SecurityEvent
from core.rls import acting_as
from core.secrets import token_hash
from passkeys.models import Passkey
from tests.conftest import PASSWORD, sign_in
from tests.notify import NotifyStub
from vault.models import Vault

pytestmark = pytest.mark.django_db

AUTH = "/api/v1/auth"
NEW_PASSWORD = "a different sturdy passphrase 7"
WEAK_PASSWORDS = ("12345678", "password")
ClientFor = Callable[..., APIClient]
Capture = DjangoCaptureOnCommitCallbacks


# --- helpers ----------------------------------------------------------------------------------
def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The error envelope of API.md §Errors, checked by code and status, never by message."""
    assert response.status_code == status, response.content
    body = dict(response.json())
    assert body["error"] == code
    assert body["status"] == status
    assert set(body) <= {"error", "message", "status", "fields", "retryAfterSec"}
    return body


def assert_validation(response: Any, field: str) -> None:
    body = assert_error(response, 400, "VALIDATION")
    assert isinstance(body.get("fields"), dict)
    assert field in body["fields"], body["fields"]


def tokens_of(client: APIClient) -> dict[str, Any]:
    return dict(client.tokens)  # type: ignore[attr-defined]


def session_id_of(client: APIClient) -> str:
    return str(jwt.decode_access_token(tokens_of(client)["accessToken"])["sid"])


def bearer(access_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


def profile_status(client: APIClient) -> int:
    return int(client.get(f"{AUTH}/profile").status_code)


def login_status(email: str, password: str) -> int:
    return int(APIClient().post(f"{AUTH}/login", {"email": email, "password": password}, format="json").status_code)


def active_session_ids(user: User) -> set[str]:
    return set(Session.objects.filter(user=user, revoked_at__isnull=True).values_list("id", flat=True))


def request_reset_link(api: APIClient, notify: NotifyStub, capture: Capture, email: str) -> str:
    with capture(execute=True):
        response = api.post(f"{AUTH}/forgot-password", {"email": email}, format="json")
    assert response.status_code == 200
    [delivery] = notify.to(email)
    notify.deliveries.clear()
    return delivery.link_token("reset-password")


def request_email_change(client: APIClient, notify: NotifyStub, capture: Capture, new_email: str) -> str:
    with capture(execute=True):
        response = client.post(f"{AUTH}/change-email", {"newEmail": new_email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    [delivery] = notify.to(new_email)
    notify.deliveries.clear()
    return delivery.link_token("confirm-email-change")


# --- anonymous callers ------------------------------------------------------------------------
BEARER_ROUTES = [
    pytest.param("get", "/profile", None, id="GET profile"),
    pytest.param("post", "/profile", {"name": "Mallory"}, id="POST profile"),
    pytest.param("post", "/change-email", {"newEmail": "m@example.com", "password": PASSWORD}, id="POST change-email"),
    pytest.param("post", "/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, id="POST change-password"),
    pytest.param("delete", "/account", {"password": PASSWORD}, id="DELETE account"),
    pytest.param("get", "/sessions", None, id="GET sessions"),
    pytest.param("delete", "/sessions/{alice_sid}", None, id="DELETE sessions-id"),
    pytest.param("get", "/security-events", None, id="GET security-events"),
]


def call(client: APIClient, method: str, path: str, body: dict[str, Any] | None) -> Any:
    if body is None:
        return getattr(client, method)(f"{AUTH}{path}")
    return getattr(client, method)(f"{AUTH}{path}", body, format="json")


@pytest.mark.parametrize(("method", "path", "body"), BEARER_ROUTES)
def test_bearer_routes_refuse_anonymous_callers(
    api: APIClient, alice: User, client_for: ClientFor, method: str, path: str, body: dict[str, Any] | None
) -> None:
    alice_client = client_for(alice)
    response = call(api, method, path.format(alice_sid=session_id_of(alice_client)), body)
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    alice.refresh_from_db()
    assert (alice.name, alice.check_password(PASSWORD)) == ("Alice", True)
    assert active_session_ids(alice) == {session_id_of(alice_client)}


@pytest.mark.parametrize(("method", "path", "body"), BEARER_ROUTES)
@pytest.mark.parametrize("token", ["garbage", "", "eyJhbGciOiJFZERTQSJ9.e30.c2ln"])
def test_bearer_routes_refuse_a_malformed_token(
    alice: User, client_for: ClientFor, method: str, path: str, body: dict[str, Any] | None, token: str
) -> None:
    alice_sid = session_id_of(client_for(alice))
    response = call(bearer(token), method, path.format(alice_sid=alice_sid), body)
    assert_error(response, 401, "UNAUTHORIZED")
    assert User.objects.filter(pk=alice.pk).exists()
    assert alice_sid in active_session_ids(alice)


def test_a_bearer_token_is_no_django_session_for_session_to_token(api: APIClient, alice: User, client_for: ClientFor) -> None:
    assert_error(api.post(f"{AUTH}/session-to-token"), 401, "UNAUTHORIZED")
    assert_error(client_for(alice).post(f"{AUTH}/session-to-token"), 401, "UNAUTHORIZED")
    assert not Session.objects.filter(method="browser_session").exists()


# --- strangers --------------------------------------------------------------------------------
def test_stranger_cannot_revoke_someone_elses_session(alice: User, charlie: User, client_for: ClientFor) -> None:
    alice_client, charlie_client = client_for(alice), client_for(charlie)
    alice_sid = session_id_of(alice_client)

    response = charlie_client.delete(f"{AUTH}/sessions/{alice_sid}")

    assert_error(response, 404, "NOT_FOUND")
    assert Session.objects.get(pk=alice_sid).revoked_at is None
    assert profile_status(alice_client) == 200
    assert not SecurityEvent.objects.filter(type="SESSION_REVOKED").exists()


def test_revoking_an_unknown_session_is_not_found(alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    assert_error(client.delete(f"{AUTH}/sessions/00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND")
    assert active_session_ids(alice) == {session_id_of(client)}


# --- paths ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/signup-status/", "/profile/", "/sessions/", "/security-events/"])
def test_get_routes_accept_a_trailing_slash(alice: User, client_for: ClientFor, path: str) -> None:
    assert client_for(alice).get(f"{AUTH}{path}").status_code == 200


def test_session_revocation_accepts_a_trailing_slash(alice: User, client_for: ClientFor) -> None:
    current, other = client_for(alice), client_for(alice)
    assert current.delete(f"{AUTH}/sessions/{session_id_of(other)}/").status_code == 200
    assert active_session_ids(alice) == {session_id_of(current)}


# --- bad input --------------------------------------------------------------------------------
PUBLIC_BAD_INPUT = [
    pytest.param("/resend-verification", {}, "email", id="resend-verification missing email"),
    pytest.param("/resend-verification", {"email": "not-an-address"}, "email", id="resend-verification invalid email"),
    pytest.param("/forgot-password", {}, "email", id="forgot-password missing email"),
    pytest.param("/forgot-password", {"email": "alice@"}, "email", id="forgot-password invalid email"),
    pytest.param("/reset-password", {"newPassword": NEW_PASSWORD}, "token", id="reset-password missing token"),
    pytest.param("/reset-password", {"token": "abc"}, "newPassword", id="reset-password missing newPassword"),
    pytest.param("/confirm-email-change", {}, "token", id="confirm-email-change missing token"),
    pytest.param("/confirm-email-change", {"token": ""}, "token", id="confirm-email-change blank token"),
    pytest.param("/validate", {}, "token", id="validate missing token"),
    pytest.param("/logout", {"refreshToken": "x" * 201}, "refreshToken", id="logout overlong refreshToken"),
]


@pytest.mark.parametrize(("path", "body", "field"), PUBLIC_BAD_INPUT)
def test_public_routes_name_the_bad_field(api: APIClient, notify: NotifyStub, path: str, body: dict[str, Any], field: str) -> None:
    assert_validation(api.post(f"{AUTH}{path}", body, format="json"), field)
    assert notify.deliveries == []


BEARER_BAD_INPUT = [
    pytest.param("post", "/profile", {"image": "http://cdn.example.com/alice.png"}, "image", id="profile http image"),
    pytest.param("post", "/profile", {"image": "not a url"}, "image", id="profile non-url image"),
    pytest.param("post", "/profile", {"name": "x" * 201}, "name", id="profile overlong name"),
    pytest.param("post", "/change-email", {"password": PASSWORD}, "newEmail", id="change-email missing newEmail"),
    pytest.param("post", "/change-email", {"newEmail": "no-at-sign", "password": PASSWORD}, "newEmail", id="change-email invalid email"),
    pytest.param("post", "/change-email", {"newEmail": "a.new@example.com"}, "password", id="change-email missing password"),
    pytest.param("post", "/change-password", {"newPassword": NEW_PASSWORD}, "currentPassword", id="change-password missing current"),
    pytest.param("post", "/change-password", {"currentPassword": PASSWORD}, "newPassword", id="change-password missing new"),
    pytest.param("delete", "/account", {}, "password", id="account missing password"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BEARER_BAD_INPUT)
def test_bearer_routes_name_the_bad_field(
    alice: User, client_for: ClientFor, notify: NotifyStub, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    client = client_for(alice)
    assert_validation(call(client, method, path, body), field)
    alice.refresh_from_db()
    assert (alice.email, alice.name, alice.image, alice.check_password(PASSWORD)) == ("alice@example.com", "Alice", "", True)
    assert active_session_ids(alice) == {session_id_of(client)}
    assert notify.deliveries == []


# --- GET /signup-status -----------------------------------------------------------------------
def test_signup_status_without_a_daily_limit_is_open(api: APIClient) -> None:
    body = api.get(f"{AUTH}/signup-status").json()
    assert body["registrationOpen"] is True
    assert (body["spotsRemaining"], body["limit"], body["totalToday"]) == (None, None, 0)


def test_signup_limit_closes_registration_for_the_day(api: APIClient, settings: Settings) -> None:
    settings.MAX_DAILY_SIGNUPS = 2
    before = api.get(f"{AUTH}/signup-status").json()
    assert (before["registrationOpen"], before["spotsRemaining"], before["totalToday"], before["limit"]) == (True, 2, 0, 2)

    for email in ("one@example.com", "two@example.com"):
        response = api.post(f"{AUTH}/register", {"email": email, "password": NEW_PASSWORD}, format="json")
        assert response.status_code == 201, response.content
    third = api.post(f"{AUTH}/register", {"email": "three@example.com", "password": NEW_PASSWORD}, format="json")

    assert_error(third, 429, "SIGNUP_LIMIT_REACHED")
    assert not User.objects.filter(email="three@example.com").exists()
    after = api.get(f"{AUTH}/signup-status").json()
    assert (after["registrationOpen"], after["spotsRemaining"], after["totalToday"], after["limit"]) == (False, 0, 2, 2)
    tomorrow = timezone.now().date() + timedelta(days=1)
    assert after["resetsAt"].startswith(tomorrow.isoformat())


# --- POST /resend-verification and /forgot-password ------------------------------------------
def test_resend_verification_mails_a_working_link_to_an_unverified_user(
    api: APIClient, make_user: Callable[..., User], notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    nora = make_user("nora@example.com", verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{AUTH}/resend-verification", {"email": "Nora@Example.com"}, format="json")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    [delivery] = notify.to("nora@example.com")
    verified = api.post(f"{AUTH}/verify-email", {"token": delivery.link_token("verify-email")}, format="json")
    assert verified.status_code == 200
    nora.refresh_from_db()
    assert nora.email_verified


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


def test_resend_verification_sends_nothing_to_a_verified_user(
    api: APIClient, alice: User, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{AUTH}/resend-verification", {"email": alice.email}, format="json")
    assert response.json() == {"success": True}
    assert notify.deliveries == []


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


# --- GET and POST /profile --------------------------------------------------------------------
def test_profile_returns_the_callers_user(alice: User, bob: User, client_for: ClientFor) -> None:
    response = client_for(alice).get(f"{AUTH}/profile")
    assert response.status_code == 200
    user = response.json()["user"]
    assert set(user) == {"id", "email", "name", "image", "emailVerified", "role", "tier", "twoFactorEnabled", "createdAt"}
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


# --- GET /sessions and DELETE /sessions/{id} --------------------------------------------------
def test_sessions_lists_only_the_callers_active_sessions_with_one_current(alice: User, bob: User, client_for: ClientFor) -> None:
    current, other, logged_out, expired = (client_for(alice) for _ in range(4))
    bob_client = client_for(bob)
    assert logged_out.post(f"{AUTH}/logout").status_code == 200
    Session.objects.filter(pk=session_id_of(expired)).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = current.get(f"{AUTH}/sessions")

    assert response.status_code == 200
    sessions = response.json()["sessions"]
    assert {session["id"] for session in sessions} == {session_id_of(current), session_id_of(other)}
    assert session_id_of(bob_client) not in {session["id"] for session in sessions}
    assert [session["id"] for session in sessions if session["current"]] == [session_id_of(current)]
    assert all(set(session) == {"id", "createdAt", "lastSeenAt", "ipAddress", "userAgent", "current"} for session in sessions)


def test_deleting_a_session_revokes_it_and_its_access_token(alice: User, client_for: ClientFor) -> None:
    current, other = client_for(alice), client_for(alice)
    other_sid = session_id_of(other)

    response = current.delete(f"{AUTH}/sessions/{other_sid}")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert Session.objects.get(pk=other_sid).revoked_at is not None
    assert_error(other.get(f"{AUTH}/profile"), 401, "UNAUTHORIZED")
    assert profile_status(current) == 200
    assert SecurityEvent.objects.get(user=alice, type="SESSION_REVOKED").metadata == {"sessionId": other_sid}


def test_session_and_event_lists_never_contain_secrets(alice: User, client_for: ClientFor) -> None:
    clients = [client_for(alice), client_for(alice)]
    secrets = [tokens_of(c)[name] for c in clients for name in ("accessToken", "refreshToken", "deviceToken")]
    secrets += list(RefreshToken.objects.filter(session__user=alice).values_list("token_hash", flat=True))

    for path in ("/sessions", "/security-events"):
        response = clients[0].get(f"{AUTH}{path}")
        assert response.status_code == 200
        content = response.content.decode()
        leaked = [secret for secret in secrets if secret in content]
        assert leaked == [], f"{path} leaks {len(leaked)} secret(s)"


# --- GET /security-events ---------------------------------------------------------------------
def test_security_events_show_only_the_callers_events_newest_first(alice: User, charlie: User, client_for: ClientFor) -> None:
    alice_client, charlie_client = client_for(alice), client_for(charlie)
    assert charlie_client.post(f"{AUTH}/profile", {"name": "Chuck"}, format="json").status_code == 200
    assert alice_client.post(f"{AUTH}/profile", {"name": "Al"}, format="json").status_code == 200
    assert charlie_client.post(f"{AUTH}/profile", {"name": "Charles"}, format="json").status_code == 200

    response = alice_client.get(f"{AUTH}/security-events")

    assert response.status_code == 200
    events = response.json()["events"]
    shown = [event["id"] for event in events]
    assert set(shown) == set(SecurityEvent.objects.filter(user=alice).values_list("id", flat=True))
    assert set(shown).isdisjoint(SecurityEvent.objects.exclude(user=alice).values_list("id", flat=True))
    assert [event["type"] for event in events] == ["PROFILE_UPDATED", "LOGIN_SUCCESS"]
    assert all(set(event) == {"id", "type", "createdAt", "ipAddress", "userAgent", "metadata"} for event in events)


def test_security_events_show_at_most_the_fifty_newest(alice: User, charlie: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    login_event = SecurityEvent.objects.get(user=alice, type="LOGIN_SUCCESS")
    now = timezone.now()
    older = [
        SecurityEvent.objects.create(user=alice, type="TEST_EVENT", metadata={"n": n}, created_at=now - timedelta(minutes=n)).id
        for n in range(1, 61)
    ]
    SecurityEvent.objects.create(user=charlie, type="TEST_EVENT", created_at=now + timedelta(minutes=5))

    events = client.get(f"{AUTH}/security-events").json()["events"]

    assert [event["id"] for event in events] == [login_event.id, *older[:49]]
    created = [event["createdAt"] for event in events]
    assert created == sorted(created, reverse=True)


# --- POST /logout -----------------------------------------------------------------------------
def test_logout_with_bearer_revokes_that_session_only(api: APIClient, alice: User, client_for: ClientFor) -> None:
    leaving, staying = client_for(alice), client_for(alice)

    response = leaving.post(f"{AUTH}/logout")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert active_session_ids(alice) == {session_id_of(staying)}
    assert_error(leaving.get(f"{AUTH}/profile"), 401, "UNAUTHORIZED")
    assert_error(api.post(f"{AUTH}/refresh", {"refreshToken": tokens_of(leaving)["refreshToken"]}, format="json"), 401, "TOKEN_INVALID")
    assert profile_status(staying) == 200


def test_logout_with_a_refresh_token_revokes_its_session(api: APIClient, alice: User) -> None:
    tokens = sign_in(APIClient(), alice.email)

    response = api.post(f"{AUTH}/logout", {"refreshToken": tokens["refreshToken"]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert active_session_ids(alice) == set()
    assert_error(bearer(tokens["accessToken"]).get(f"{AUTH}/profile"), 401, "UNAUTHORIZED")
    assert SecurityEvent.objects.filter(user=alice, type="LOGOUT").count() == 1


def test_logout_with_neither_bearer_nor_refresh_token_is_unauthorized(api: APIClient, alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    assert_error(api.post(f"{AUTH}/logout", {}, format="json"), 401, "UNAUTHORIZED")
    assert_error(api.post(f"{AUTH}/logout"), 401, "UNAUTHORIZED")
    assert active_session_ids(alice) == {session_id_of(client)}


def test_logout_with_an_unknown_refresh_token_succeeds_and_revokes_nothing(api: APIClient, alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    response = api.post(f"{AUTH}/logout", {"refreshToken": "not-a-refresh-token"}, format="json")
    assert response.json() == {"success": True}
    assert active_session_ids(alice) == {session_id_of(client)}


# --- POST /session-to-token -------------------------------------------------------------------
def test_session_to_token_exchanges_a_django_session_for_a_working_token_pair(api: APIClient, alice: User) -> None:
    browser = APIClient()
    browser.force_login(alice)

    response = browser.post(f"{AUTH}/session-to-token")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert (body["tokenType"], body["expiresIn"]) == ("Bearer", 900)
    assert response.headers["Cache-Control"] == "no-store"
    session = Session.objects.get(user=alice)
    assert (session.method, session.revoked_at) == ("browser_session", None)
    profile = bearer(body["accessToken"]).get(f"{AUTH}/profile")
    assert profile.status_code == 200
    assert profile.json()["user"]["id"] == alice.id
    assert api.post(f"{AUTH}/refresh", {"refreshToken": body["refreshToken"]}, format="json").status_code == 200


def test_session_to_token_refuses_a_post_without_the_csrf_token(alice: User) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(alice)

    assert_error(browser.post(f"{AUTH}/session-to-token"), 403, "FORBIDDEN")
    assert not Session.objects.filter(user=alice).exists()

    secret = "a" * 32
    browser.cookies["csrftoken"] = secret
    assert browser.post(f"{AUTH}/session-to-token", HTTP_X_CSRFTOKEN=secret).status_code == 200


# --- POST /validate ---------------------------------------------------------------------------
def test_validate_accepts_a_live_token_and_returns_its_claims(
    api: APIClient, alice: User, client_for: ClientFor, settings: Settings
) -> None:
    client = client_for(alice)
    token = tokens_of(client)["accessToken"]
    expected = {"sub": alice.id, "sid": session_id_of(client), "email": "alice@example.com", "role": "user", "tier": "public"}

    for headers in ({}, {"HTTP_X_SERVICE_KEY": settings.MANA_SERVICE_KEY}):
        response = api.post(f"{AUTH}/validate", {"token": token}, format="json", **headers)
        assert response.status_code == 200
        body = response.json()
        assert body["valid"] is True
        assert {claim: body["payload"][claim] for claim in expected} == expected


def test_validate_reports_a_revoked_sessions_token_as_revoked(api: APIClient, alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    assert client.post(f"{AUTH}/logout").status_code == 200

    response = api.post(f"{AUTH}/validate", {"token": tokens_of(client)["accessToken"]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"valid": False, "reason": "revoked"}


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_validate_reports_garbage_as_invalid(api: APIClient, token: str) -> None:
    response = api.post(f"{AUTH}/validate", {"token": token}, format="json")
    assert response.status_code == 200
    assert response.json() == {"valid": False, "reason": "invalid"}


def test_validate_with_a_wrong_service_key_is_unauthorized(api: APIClient, alice: User, client_for: ClientFor, settings: Settings) -> None:
    settings.MANA_SERVICE_KEY = "the-right-service-key"
    token = tokens_of(client_for(alice))["accessToken"]

    for wrong in ("the-wrong-service-key", ""):
        response = api.post(f"{AUTH}/validate", {"token": token}, format="json", HTTP_X_SERVICE_KEY=wrong)
        assert_error(response, 401, "UNAUTHORIZED")


# --- links and revocations that must not outlive a change -------------------------------------
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


def test_a_password_change_voids_open_reset_links(
    api: APIClient, alice: User, client_for: ClientFor, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    reset_token = request_reset_link(api, notify, django_capture_on_commit_callbacks, alice.email)
    changed = client_for(alice).post(f"{AUTH}/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, format="json")
    assert changed.status_code == 200
    stale = api.post(f"{AUTH}/reset-password", {"token": reset_token, "newPassword": "yet another passphrase"}, format="json")
    assert_error(stale, 400, "TOKEN_INVALID")
    assert login_status(alice.email, NEW_PASSWORD) == 200


def test_revoking_twice_succeeds_once_in_the_record(alice: User, client_for: ClientFor) -> None:
    first, second = client_for(alice), client_for(alice)
    target = session_id_of(second)
    assert first.delete(f"{AUTH}/sessions/{target}").status_code == 200
    assert first.delete(f"{AUTH}/sessions/{target}").status_code == 200
    assert SecurityEvent.objects.filter(type="SESSION_REVOKED", user=alice).count() == 1
    refresh_token = tokens_of(first)["refreshToken"]
    assert APIClient().post(f"{AUTH}/logout", {"refreshToken": refresh_token}, format="json").status_code == 200
    assert APIClient().post(f"{AUTH}/logout", {"refreshToken": refresh_token}, format="json").status_code == 200
    assert SecurityEvent.objects.filter(type="LOGOUT", user=alice).count() == 1
