"""Issue 18's sign-in attacks, each replayed through HTTP against the fix: revoked browser
sessions, pre-account hijack, verify links past 2FA, the lock against the owner, backup codes
at rest."""

import base64
import importlib
from typing import Any

import pytest
from django.apps import apps
from pytest_django import Settings
from rest_framework.test import APIClient

from accounts import totp
from accounts.models import BackupCode, LoginAttempt, Session, User
from accounts.session_cookie import cookie_name
from core.secrets import token_hash
from tests.notify import NotifyStub
from tests.support import (
    AUTH,
    NEW_PASSWORD,
    PASSWORD,
    Capture,
    ClientFor,
    Clock,
    active_session_ids,
    assert_error,
    enable,
    login,
    session_id_of,
    verify,
)

pytestmark = pytest.mark.django_db

ATTACKER_PASSWORD = "the attacker's own passphrase 9"
PENDING_COOKIE = "mana.two_factor_pending"


def _mailed_token(api: APIClient, notify: NotifyStub, capture: Capture, path: str, body: dict[str, Any], page: str) -> str:
    with capture(execute=True):
        assert api.post(f"{AUTH}/{path}", body, format="json").status_code in (200, 201)
    return notify.to(body["email"])[-1].link_token(page)


def _lock(email: str) -> None:
    for _ in range(5):
        login(APIClient(), email, "wrong password!!")
    assert login(APIClient(), email).json()["error"] == "ACCOUNT_LOCKED"


# --- #1 a revoked browser session mints no tokens ----------------------------------------------
def test_attack_revoked_browser_session_cannot_mint_tokens(alice: User, client_for: ClientFor) -> None:
    browser = APIClient()
    assert browser.post("/login", {"email": alice.email, "password": PASSWORD}).status_code == 302
    browser.cookies.pop(cookie_name(), None)  # the pages' Django session only
    page_session = Session.objects.get(user=alice)
    assert browser.post(f"{AUTH}/session-to-token").status_code == 200

    elsewhere = client_for(alice)
    assert elsewhere.delete(f"{AUTH}/sessions/{page_session.id}").status_code == 200  # revoked from another device

    assert_error(browser.post(f"{AUTH}/session-to-token"), 401, "UNAUTHORIZED")
    assert active_session_ids(alice) == {session_id_of(elsewhere)}  # none started in the revoked one's place


# --- #2 pre-account hijack ---------------------------------------------------------------------
def test_attack_pre_account_hijack_magic_link_ends_the_attackers_password(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    victim = "victim@example.com"
    register = {"email": victim, "password": ATTACKER_PASSWORD, "name": "Attacker"}
    assert APIClient().post(f"{AUTH}/register", register, format="json").status_code == 201
    user = User.objects.get(email=victim)
    planted = Session.objects.create(user=user, expires_at=user.created_at.replace(year=user.created_at.year + 1))
    assert_error(api.post(f"{AUTH}/register", {**register, "password": NEW_PASSWORD}, format="json"), 409, "EMAIL_ALREADY_REGISTERED")

    token = _mailed_token(api, notify, django_capture_on_commit_callbacks, "magic-link", {"email": victim}, "magic-link")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{AUTH}/magic-link/verify", {"token": token}, format="json").status_code == 200

    assert_error(login(APIClient(), victim, ATTACKER_PASSWORD), 401, "INVALID_CREDENTIALS")
    assert Session.objects.get(pk=planted.pk).revoked_at is not None
    [told] = [d for d in notify.to(victim) if "password" in d.body["subject"].lower() or "Passwort" in d.body["subject"]]
    assert "forgot-password" in told.body["text"]


def test_attack_pre_account_hijack_resent_verification_ends_the_attackers_password(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    victim = "victim@example.com"
    register = {"email": victim, "password": ATTACKER_PASSWORD, "name": "Attacker"}
    assert APIClient().post(f"{AUTH}/register", register, format="json").status_code == 201
    token = _mailed_token(api, notify, django_capture_on_commit_callbacks, "resend-verification", {"email": victim}, "verify-email")

    assert api.post(f"{AUTH}/verify-email", {"token": token}, format="json").status_code == 200

    assert User.objects.get(email=victim).email_verified
    assert_error(login(APIClient(), victim, ATTACKER_PASSWORD), 401, "INVALID_CREDENTIALS")


def test_the_registrations_own_link_keeps_the_registrants_password(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    body = {"email": "new@example.com", "password": PASSWORD, "name": "New"}
    token = _mailed_token(api, notify, django_capture_on_commit_callbacks, "register", body, "verify-email")
    assert api.post(f"{AUTH}/verify-email", {"token": token}, format="json").status_code == 200
    assert login(APIClient(), body["email"]).status_code == 200


# --- #3 an unused verify link does not sign in past 2FA -----------------------------------------
@pytest.fixture
def open_link_2fa(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Capture, client_for: ClientFor, steps: Clock
) -> Any:
    """A verify link still open when 2FA went on (the address was verified another way)."""
    body = {"email": "new@example.com", "password": PASSWORD, "name": "New"}
    token = _mailed_token(api, notify, django_capture_on_commit_callbacks, "register", body, "verify-email")
    User.objects.filter(email=body["email"]).update(email_verified=True)
    user = User.objects.get(email=body["email"])
    secret = enable(client_for(user), steps)["secret"]
    return user, token, secret


def test_attack_unused_verify_link_does_not_skip_the_second_factor(open_link_2fa: Any, api: APIClient, steps: Clock) -> None:
    user, token, secret = open_link_2fa
    sessions_before = Session.objects.filter(user=user).count()

    handoff = api.post(f"{AUTH}/verify-email", {"token": token}, format="json")

    assert (handoff.status_code, handoff.json()["error"]) == (401, "TWO_FACTOR_REQUIRED")  # as the magic link and login answer
    assert "accessToken" not in handoff.json()
    assert Session.objects.filter(user=user).count() == sessions_before
    steps.step()
    done = verify(APIClient(), handoff.json()["twoFactorToken"], code=totp.code_at(secret, steps.now))
    assert done.status_code == 200
    assert done.json()["user"]["id"] == user.id


def test_attack_unused_verify_link_does_not_skip_the_second_factor_on_the_platform_door(open_link_2fa: Any) -> None:
    user, token, _ = open_link_2fa
    sessions_before = Session.objects.filter(user=user).count()
    response = APIClient().get("/api/auth/verify-email", {"token": token})
    assert response.status_code == 302
    assert response.cookies[PENDING_COOKIE].value
    assert cookie_name() not in response.cookies
    assert Session.objects.filter(user=user).count() == sessions_before


def test_attack_unused_verify_link_does_not_skip_the_second_factor_on_the_page(open_link_2fa: Any) -> None:
    user, token, _ = open_link_2fa
    sessions_before = Session.objects.filter(user=user).count()
    response = APIClient().post("/verify-email", {"token": token})
    assert (response.status_code, response["Location"]) == (302, "/two-factor")
    assert Session.objects.filter(user=user).count() == sessions_before


# --- #6 the lock does not close the magic link's second step -----------------------------------
def test_attack_locked_password_does_not_block_the_magic_links_second_factor(
    alice: User, client_for: ClientFor, api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Capture, steps: Clock
) -> None:
    enrollment = enable(client_for(alice), steps)
    _lock(alice.email)

    def handoff() -> str:
        token = _mailed_token(api, notify, django_capture_on_commit_callbacks, "magic-link", {"email": alice.email}, "magic-link")
        answer = api.post(f"{AUTH}/magic-link/verify", {"token": token}, format="json")
        assert answer.json()["error"] == "TWO_FACTOR_REQUIRED"
        return str(answer.json()["twoFactorToken"])

    pending = handoff()
    failures = LoginAttempt.objects.filter(outcome=LoginAttempt.Outcome.FAILURE).count()
    assert_error(verify(APIClient(), pending, code="000000"), 401, "TWO_FACTOR_FAILED")  # still a credential check ...
    assert LoginAttempt.objects.filter(outcome=LoginAttempt.Outcome.FAILURE).count() == failures + 1  # ... that counts
    steps.step()
    assert verify(APIClient(), pending, code=totp.code_at(enrollment["secret"], steps.now)).status_code == 200
    assert verify(APIClient(), handoff(), backupCode=enrollment["backupCodes"][0]).status_code == 200
    assert login(APIClient(), alice.email).json()["error"] == "ACCOUNT_LOCKED"  # the password lock stays


def test_attack_second_factor_guesses_are_limited_when_the_lock_does_not_apply(
    alice: User, client_for: ClientFor, api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Capture, steps: Clock
) -> None:
    enable(client_for(alice), steps)
    _lock(alice.email)
    token = _mailed_token(api, notify, django_capture_on_commit_callbacks, "magic-link", {"email": alice.email}, "magic-link")
    pending = api.post(f"{AUTH}/magic-link/verify", {"token": token}, format="json").json()["twoFactorToken"]
    codes = [verify(APIClient(), pending, code="000000").json()["error"] for _ in range(11)]
    assert codes == ["TWO_FACTOR_FAILED"] * 10 + ["RATE_LIMITED"]


# --- #7 the lock does not stop the owner securing the account ----------------------------------
def test_attack_lock_does_not_stop_the_owner_securing_the_account(alice: User, client_for: ClientFor, steps: Clock) -> None:
    client = client_for(alice)  # signed in before a stranger locked the password
    _lock(alice.email)

    failures = LoginAttempt.objects.filter(outcome=LoginAttempt.Outcome.FAILURE).count()
    wrong = client.post(f"{AUTH}/change-password", {"currentPassword": "not it at all!", "newPassword": NEW_PASSWORD}, format="json")
    assert_error(wrong, 401, "INVALID_CREDENTIALS")
    assert LoginAttempt.objects.filter(outcome=LoginAttempt.Outcome.FAILURE).count() == failures + 1

    assert (
        client.post(f"{AUTH}/change-email", {"newEmail": "alice.new@example.com", "password": PASSWORD}, format="json").status_code == 200
    )
    enable(client, steps)
    changed = client.post(f"{AUTH}/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, format="json")
    assert changed.status_code == 200
    assert User.objects.get(pk=alice.pk).check_password(NEW_PASSWORD)


# --- #21 backup codes are keyed at rest --------------------------------------------------------
def _legacy_hash(user: User, code: str) -> str:
    return token_hash(f"backup-code:{user.id}:{code.replace('-', '')}")


def test_attack_backup_code_dump_cannot_be_cracked_without_the_kek(alice: User, client_for: ClientFor, steps: Clock) -> None:
    codes = enable(client_for(alice), steps)["backupCodes"]
    stored = set(BackupCode.objects.filter(user=alice).values_list("code_hash", flat=True))
    assert stored.isdisjoint({_legacy_hash(alice, code) for code in codes})  # the unkeyed SHA-256 a dump could be tested against
    assert stored.isdisjoint({token_hash(code) for code in codes})


def test_backup_codes_keep_working_after_a_kek_rotation(alice: User, client_for: ClientFor, steps: Clock, settings: Settings) -> None:
    codes = enable(client_for(alice), steps)["backupCodes"]
    settings.MANA_AUTH_OLD_KEKS = f"{settings.MANA_AUTH_KEK_ID}:{settings.MANA_AUTH_KEK}"
    settings.MANA_AUTH_KEK_ID = "rotated"
    settings.MANA_AUTH_KEK = base64.b64encode(b"\x07" * 32).decode()

    pending = login(APIClient(), alice.email).json()["twoFactorToken"]
    assert verify(APIClient(), pending, backupCode=codes[0]).status_code == 200


def test_backup_codes_stored_the_old_way_are_keyed_by_the_migration_and_still_work(
    alice: User, client_for: ClientFor, steps: Clock
) -> None:
    codes = enable(client_for(alice), steps)["backupCodes"]
    BackupCode.objects.filter(user=alice).delete()
    BackupCode.objects.bulk_create(BackupCode(user=alice, code_hash=_legacy_hash(alice, code)) for code in codes)  # as before the fix

    importlib.import_module("accounts.migrations.0007_backup_codes_keyed").backup_codes_keyed(apps, None)

    stored = set(BackupCode.objects.filter(user=alice).values_list("code_hash", flat=True))
    assert stored.isdisjoint({_legacy_hash(alice, code) for code in codes})
    pending = login(APIClient(), alice.email).json()["twoFactorToken"]
    assert verify(APIClient(), pending, backupCode=codes[1]).status_code == 200
