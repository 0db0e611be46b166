"""The lockout: counted only from credential failures, durable, race-free, and never a weapon
against a user who has signed in from this device before."""

import statistics
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.db.models import F
from rest_framework.test import APIClient

from accounts.models import DeviceToken, LockoutState, LoginAttempt, User
from accounts.services.lockout import lock_state
from core import clock
from core.models import SecurityEvent
from tests.support import PASSWORD, RunConcurrently, sign_in

pytestmark = pytest.mark.django_db

WRONG = "definitely not the password"


def login(client: APIClient, email: str, password: str, **extra: Any) -> Any:
    return client.post("/api/v1/auth/login", {"email": email, "password": password, **extra}, format="json")


def fail_times(client: APIClient, email: str, times: int, **extra: Any) -> list[Any]:
    return [login(client, email, WRONG, **extra) for _ in range(times)]


def test_five_failures_lock_password_login_for_thirty_minutes(api: APIClient, alice: User, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        responses = fail_times(api, alice.email, 5)
    assert [r.status_code for r in responses] == [401] * 5
    assert {r.json()["error"] for r in responses} == {"INVALID_CREDENTIALS"}

    locked = login(api, alice.email, PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["error"] == "ACCOUNT_LOCKED"
    assert 1790 <= locked.json()["retryAfterSec"] <= 1800
    assert locked["Retry-After"] == str(locked.json()["retryAfterSec"])
    assert SecurityEvent.objects.filter(type="ACCOUNT_LOCKED", user=alice).count() == 1


def test_blocked_attempts_neither_count_nor_extend_the_lock(api: APIClient, alice: User) -> None:
    fail_times(api, alice.email, 5)
    until = LockoutState.objects.get(email=alice.email).locked_until
    blocked = fail_times(api, alice.email, 3)
    assert {r.status_code for r in blocked} == {429}
    assert LockoutState.objects.get(email=alice.email).locked_until == until
    assert LoginAttempt.objects.filter(email=alice.email, outcome="failure").count() == 5
    assert LoginAttempt.objects.filter(email=alice.email, outcome="blocked").count() == 3
    assert SecurityEvent.objects.filter(type="ACCOUNT_LOCKED").count() == 1


def test_the_lock_mails_the_user_once_with_a_reset_link(api: APIClient, alice: User, notify, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        fail_times(api, alice.email, 8)
    [mail] = notify.to(alice.email)
    assert mail.link_token("reset-password")


def test_the_lock_expires_after_thirty_minutes(api: APIClient, alice: User) -> None:
    fail_times(api, alice.email, 5)
    assert login(api, alice.email, PASSWORD).status_code == 429
    half_an_hour = timedelta(minutes=30, seconds=1)
    LockoutState.objects.filter(email=alice.email).update(
        locked_at=F("locked_at") - half_an_hour, locked_until=F("locked_until") - half_an_hour
    )
    LoginAttempt.objects.filter(email=alice.email).update(created_at=F("created_at") - half_an_hour)
    assert login(api, alice.email, PASSWORD).status_code == 200


def test_a_success_clears_earlier_failures(api: APIClient, alice: User) -> None:
    fail_times(api, alice.email, 4)
    assert login(api, alice.email, PASSWORD).status_code == 200
    fail_times(api, alice.email, 4)
    assert login(api, alice.email, PASSWORD).status_code == 200


def test_failures_for_unknown_emails_lock_that_email_too(api: APIClient) -> None:
    responses = fail_times(api, "nobody@example.com", 6)
    assert [r.status_code for r in responses] == [401] * 5 + [429]
    event = SecurityEvent.objects.filter(type="LOGIN_FAILURE").first()
    assert event is not None
    assert event.user_id is None
    assert "nobody@example.com" not in str(event.metadata)


def test_a_known_device_is_not_locked_out_by_failures_from_elsewhere(alice: User) -> None:
    trusted = APIClient()
    device_token = sign_in(trusted, alice.email)["deviceToken"]
    attacker = APIClient()
    fail_times(attacker, alice.email, 5)
    assert login(attacker, alice.email, PASSWORD).status_code == 429
    # The body field and the browser cookie both carry the device token.
    assert login(APIClient(), alice.email, PASSWORD, deviceToken=device_token).status_code == 200
    assert trusted.cookies["mana_device"].value == device_token
    assert login(trusted, alice.email, PASSWORD).status_code == 200


def test_a_device_token_of_another_user_does_not_bypass_the_lock(alice: User, bob: User) -> None:
    bobs_device = sign_in(APIClient(), bob.email)["deviceToken"]
    fail_times(APIClient(), alice.email, 5)
    assert login(APIClient(), alice.email, PASSWORD, deviceToken=bobs_device).status_code == 429


def test_failures_with_a_device_token_count_against_that_device_only(alice: User) -> None:
    device_token = sign_in(APIClient(), alice.email)["deviceToken"]
    responses = fail_times(APIClient(), alice.email, 9, deviceToken=device_token)
    assert {r.status_code for r in responses} == {401}
    assert LockoutState.objects.get(email=alice.email).locked_until is None  # the email is not locked
    fail_times(APIClient(), alice.email, 1, deviceToken=device_token)  # the tenth voids the device
    assert DeviceToken.objects.get(user=alice).revoked_at is not None
    answer = login(APIClient(), alice.email, PASSWORD, deviceToken=device_token)
    assert answer.status_code == 200
    assert answer.json()["deviceToken"] != device_token  # a fresh one replaces the voided token


def test_a_password_reset_clears_the_lock(api: APIClient, alice: User, notify, django_capture_on_commit_callbacks) -> None:
    fail_times(api, alice.email, 5)
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/auth/forgot-password", {"email": alice.email}, format="json")
    token = notify.to(alice.email)[-1].link_token("reset-password")
    assert (
        api.post("/api/v1/auth/reset-password", {"token": token, "newPassword": "a brand new passphrase"}, format="json").status_code == 200
    )
    assert login(api, alice.email, "a brand new passphrase").status_code == 200


def test_unknown_email_and_wrong_password_look_the_same(api: APIClient, alice: User) -> None:
    def timed(email: str) -> tuple[float, Any]:
        started = time.perf_counter()
        response = login(api, email, WRONG)
        return time.perf_counter() - started, response

    known, unknown = [], []
    for round_ in range(4):  # under the lock threshold for each address
        known.append(timed(alice.email))
        unknown.append(timed(f"ghost{round_}@example.com"))
    assert {r.status_code for _, r in known + unknown} == {401}
    assert {r.json()["error"] for _, r in known + unknown} == {"INVALID_CREDENTIALS"}
    assert {r.json()["message"] for _, r in known + unknown} == {known[0][1].json()["message"]}
    known_median = statistics.median(t for t, _ in known)
    unknown_median = statistics.median(t for t, _ in unknown)
    # Both spend one Argon2id verification; a missing hash step would be an order of magnitude off.
    ratio = known_median / unknown_median
    assert ratio > 1 / 3, (known_median, unknown_median)
    assert ratio < 3, (known_median, unknown_median)


def test_per_ip_throttle_on_login(api: APIClient, alice: User, monkeypatch: pytest.MonkeyPatch) -> None:
    # One fixed rate-limit window for all 32 attempts (a second or two of hashing): a window
    # boundary among them would start the count afresh.
    monkeypatch.setattr(clock, "timestamp", lambda: 1_800_000_030.0)
    codes = [login(api, f"user{n}@example.com", WRONG).status_code for n in range(31)]
    assert codes[:30] == [401] * 30
    assert codes[30] == 429
    refused = login(api, alice.email, PASSWORD)
    assert refused.json()["error"] == "RATE_LIMITED"
    assert refused.json()["retryAfterSec"] >= 1


def test_the_client_ip_comes_from_forwarded_for_only_behind_trusted_proxies(
    api: APIClient, alice: User, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "timestamp", lambda: 1_800_000_030.0)  # one rate-limit window, as above

    def attempt(email: str, password: str, forwarded_for: str) -> int:
        payload = {"email": email, "password": password}
        return int(api.post("/api/v1/auth/login", payload, format="json", HTTP_X_FORWARDED_FOR=forwarded_for).status_code)

    for n in range(30):
        attempt(f"user{n}@example.com", WRONG, f"198.51.100.{n}")
    # With no trusted proxy the forged header changes nothing: all thirty counted against REMOTE_ADDR.
    assert attempt(alice.email, PASSWORD, "203.0.113.9") == 429
    settings.TRUSTED_PROXY_COUNT = 1
    assert attempt(alice.email, PASSWORD, "203.0.113.9") == 200


@pytest.mark.postgres
def test_schema_drift_during_login_is_503_and_counts_nothing(api: APIClient, alice: User) -> None:
    """The regression behind the error taxonomy: a column the login query reads goes missing."""
    attempts_before = LoginAttempt.objects.count()
    states_before = list(LockoutState.objects.values_list("email", "locked_until", "cleared_at"))
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE accounts_user RENAME COLUMN email_verified TO email_verified_drifted")
    responses = [login(api, alice.email, PASSWORD) for _ in range(5)]
    assert [r.status_code for r in responses] == [503] * 5
    assert {r.json()["error"] for r in responses} == {"SERVICE_UNAVAILABLE"}
    assert "email_verified" not in "".join(r.content.decode() for r in responses)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE accounts_user RENAME COLUMN email_verified_drifted TO email_verified")
    assert LoginAttempt.objects.count() == attempts_before
    assert list(LockoutState.objects.values_list("email", "locked_until", "cleared_at")) == states_before
    assert SecurityEvent.objects.filter(type="SERVICE_ERROR").count() == 5
    assert login(api, alice.email, PASSWORD).status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_attempts_at_an_address_make_one_row_and_cannot_race_past_the_lock(
    make_user: Callable[..., User], run_concurrently: RunConcurrently
) -> None:
    user = make_user("first-racer@example.com")

    def attack(n: int) -> int:
        return int(APIClient().post("/api/v1/auth/login", {"email": user.email, "password": WRONG}, format="json").status_code)

    statuses: list[int] = run_concurrently(attack, 20)
    assert sorted(statuses) == [401] * 5 + [429] * 15
    assert LockoutState.objects.filter(email=user.email).count() == 1
    assert LoginAttempt.objects.filter(email=user.email, outcome="failure").count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_cannot_race_past_the_lock(make_user: Callable[..., User], run_concurrently: RunConcurrently) -> None:
    user = make_user("racer@example.com")
    device_token = sign_in(APIClient(), user.email)["deviceToken"]

    def attack(n: int) -> int:
        return int(APIClient().post("/api/v1/auth/login", {"email": user.email, "password": WRONG}, format="json").status_code)

    statuses: list[int] = run_concurrently(attack, 20)
    assert sorted(statuses) == [401] * 5 + [429] * 15
    assert LoginAttempt.objects.filter(email=user.email, outcome="failure").count() == 5
    assert SecurityEvent.objects.filter(type="ACCOUNT_LOCKED", user=user).count() == 1
    assert login(APIClient(), user.email, PASSWORD).status_code == 429
    assert login(APIClient(), user.email, PASSWORD, deviceToken=device_token).status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_attempt_queued_behind_a_password_reset_checks_the_new_password(make_user: Callable[..., User]) -> None:
    """The sign-in reads the account after it holds the address's row, not in the statement that
    waited for it: a reset commits its password while the attempt waits, and the old one fails."""
    user = make_user("queued@example.com")
    assert login(APIClient(), user.email, PASSWORD).status_code == 200  # the address's row exists
    statuses: list[int] = []

    def attempt_with_the_old_password() -> None:
        try:
            statuses.append(login(APIClient(), user.email, PASSWORD).status_code)
        finally:
            connections.close_all()

    with transaction.atomic():  # as a reset does: the row locked, the password changed, then the commit
        lock_state(user.email)
        user.set_password("a brand new passphrase 7")
        user.save(update_fields=["password"])
        waiter = threading.Thread(target=attempt_with_the_old_password)
        waiter.start()
        deadline = time.monotonic() + 10
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction sees one snapshot of the activity else
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.01)
            else:
                pytest.fail("the attempt never queued on the address's row")
    waiter.join(timeout=10)
    assert statuses == [401]
    assert login(APIClient(), user.email, "a brand new passphrase 7").status_code == 200
