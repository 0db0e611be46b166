"""Calls to the sibling services (PLATFORM.md §10): the new-account calls are queued in the
registration's transaction, sent after commit, retried with backoff by `process_outbox` and sent
exactly once; the GDPR calls to credits are synchronous and give up within 2 s."""

import io
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from core.personal_data import export_sections
from mail.models import ServiceCall
from mail.services import (
    CALL_MAX_ATTEMPTS,
    credits_balance,
    credits_balance_path,
    credits_delete,
    service_call_deliver,
    service_call_enqueue,
)
from tests.mail.conftest import SERVICE_KEY
from tests.mail.services_stub import ServiceStub
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

INIT = ("POST", "/api/v1/internal/credits/init")
GIFTS = ("POST", "/api/v1/internal/gifts/redeem-pending")
WELCOME = ("POST", "/api/v1/internal/mail/on-user-created")
BALANCE = {"balance": 120, "totalEarned": 150, "totalSpent": 30, "transactionsCount": 4}


def register(api: APIClient, capture: Callable[..., Any], email: str = "nora@example.com", name: str = "Nora") -> User:
    with capture(execute=True):
        response = api.post("/api/v1/auth/register", {"email": email, "password": PASSWORD, "name": name}, format="json")
    assert response.status_code == 201, response.content
    return User.objects.get(email=email)


def process_outbox() -> str:
    out = io.StringIO()
    call_command("process_outbox", stdout=out)
    return out.getvalue()


def make_due() -> None:
    """Skip the backoff: every waiting call is due now."""
    ServiceCall.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def assert_sent_once(stub: ServiceStub, call: tuple[str, str], body: dict[str, Any]) -> None:
    [request] = stub.requests(*call)
    assert request.headers["x-service-key"] == SERVICE_KEY
    assert request.headers["content-type"] == "application/json"
    assert request.body == body


def test_registration_with_both_services_down_answers_201_and_the_calls_are_sent_once_later(
    api: APIClient, credits_service: ServiceStub, mail_service: ServiceStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    credits_service.stop()
    mail_service.stop()

    user = register(api, django_capture_on_commit_callbacks)

    calls = ServiceCall.objects.filter(user=user).order_by("pk")
    assert [(c.target, c.method, c.path, c.status, c.attempts) for c in calls] == [
        ("credits", *INIT, "pending", 1),
        ("credits", *GIFTS, "pending", 1),
        ("mail", *WELCOME, "pending", 1),
    ]
    assert {c.last_error for c in calls} == {"URLError ConnectionRefusedError"}
    assert all(c.next_attempt_at > timezone.now() and c.sent_at is None for c in calls)

    credits_service.start()
    mail_service.start()
    assert "Sent 0 service call(s); 0 still failing." in process_outbox()  # backing off: not due yet
    assert credits_service.received == mail_service.received == []

    make_due()
    assert "Sent 3 service call(s); 0 still failing." in process_outbox()

    assert_sent_once(credits_service, INIT, {"userId": user.id})
    assert_sent_once(credits_service, GIFTS, {"userId": user.id, "email": "nora@example.com"})
    assert_sent_once(mail_service, WELCOME, {"userId": user.id, "email": "nora@example.com", "name": "Nora"})
    assert len(credits_service.received) == 2
    assert len(mail_service.received) == 1
    assert [(c.status, c.attempts, c.last_error, c.payload) for c in calls.all()] == [("sent", 2, "", None)] * 3
    assert all(c.sent_at is not None for c in calls.all())

    make_due()
    assert "Sent 0 service call(s); 0 still failing." in process_outbox()
    assert len(credits_service.received) == 2
    assert len(mail_service.received) == 1


def test_with_the_services_up_the_calls_are_sent_right_after_the_registration_commits(
    api: APIClient, credits_service: ServiceStub, mail_service: ServiceStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    user = register(api, django_capture_on_commit_callbacks, name="Nora Nilsson")

    assert_sent_once(credits_service, INIT, {"userId": user.id})
    assert_sent_once(mail_service, WELCOME, {"userId": user.id, "email": "nora@example.com", "name": "Nora Nilsson"})
    assert set(ServiceCall.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_nothing_is_sent_before_the_registration_commits(
    api: APIClient, credits_service: ServiceStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post("/api/v1/auth/register", {"email": "nora@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 201
    assert credits_service.received == []
    assert ServiceCall.objects.filter(status="pending", attempts=0).count() == 2
    assert len(callbacks) >= 2


def test_an_unset_url_skips_its_calls(
    api: APIClient, credits_service: ServiceStub, settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.MANA_MAIL_URL = ""

    register(api, django_capture_on_commit_callbacks)

    assert set(ServiceCall.objects.values_list("target", flat=True)) == {"credits"}
    assert len(credits_service.received) == 2
    assert service_call_enqueue(target="mail", method="POST", path=WELCOME[1], payload={}) is None


def test_a_failing_target_is_retried_with_backoff_until_it_answers(
    api: APIClient, credits_service: ServiceStub, mail_service: ServiceStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    credits_service.status = 500
    before = timezone.now()

    register(api, django_capture_on_commit_callbacks)

    init = ServiceCall.objects.get(path=INIT[1])
    assert (init.status, init.attempts, init.last_error) == ("pending", 1, "HTTPError 500")
    first_delay = init.next_attempt_at - before
    assert first_delay > timedelta(0)
    assert first_delay <= timedelta(seconds=31)  # the first retry within 30 s
    assert ServiceCall.objects.get(target="mail").status == "sent"  # one target's failure holds no other back

    make_due()
    assert "Sent 0 service call(s); 2 still failing." in process_outbox()
    init.refresh_from_db()
    assert (init.status, init.attempts) == ("pending", 2)
    assert init.next_attempt_at - timezone.now() > first_delay  # the wait grows

    credits_service.status = 200
    make_due()
    assert "Sent 2 service call(s); 0 still failing." in process_outbox()
    init.refresh_from_db()
    assert (init.status, init.attempts, init.last_error) == ("sent", 3, "")
    assert len(credits_service.requests(*INIT)) == 3  # two refused, one taken
    assert len(mail_service.received) == 1


def test_a_redirect_is_a_failure_and_the_service_key_goes_nowhere_else(credits_service: ServiceStub, mail_service: ServiceStub) -> None:
    credits_service.status = 307
    credits_service.location = f"{mail_service.url}{INIT[1]}"
    call = service_call_enqueue(target="credits", method="POST", path=INIT[1], payload={"userId": "u-1"})
    assert call is not None

    assert service_call_deliver(call.pk) is False

    call.refresh_from_db()
    assert (call.status, call.last_error) == ("pending", "HTTPError 307")
    assert len(credits_service.received) == 1
    assert mail_service.received == []
    assert credits_delete("u-1") is None
    assert mail_service.received == []


def test_a_call_is_given_up_after_the_last_attempt_and_an_operator_can_retry_it(
    alice: User, credits_service: ServiceStub, operator_client: Client
) -> None:
    credits_service.status = 503
    call = ServiceCall.objects.create(user=alice, target="credits", method="POST", path=INIT[1], payload={"userId": alice.id})
    for attempt in range(1, CALL_MAX_ATTEMPTS + 1):
        make_due()
        assert service_call_deliver(call.pk) is False
        call.refresh_from_db()
        assert call.attempts == attempt
    assert (call.status, call.last_error) == ("failed", "HTTPError 503")
    make_due()
    assert service_call_deliver(call.pk) is False  # given up on
    assert len(credits_service.received) == CALL_MAX_ATTEMPTS

    credits_service.status = 200
    changelist = reverse("admin:mail_servicecall_changelist")
    response = operator_client.post(changelist, {"action": "retry", "_selected_action": [call.pk]})
    assert response.status_code == 302
    call.refresh_from_db()
    assert (call.status, call.payload) == ("sent", None)
    assert credits_service.received[-1].body == {"userId": alice.id}


def test_the_admin_lists_calls_without_their_payload(alice: User, operator_client: Client) -> None:
    call = ServiceCall.objects.create(user=alice, target="mail", method="POST", path=WELCOME[1], payload={"name": "Alice Secretname"})
    for url in (reverse("admin:mail_servicecall_changelist"), reverse("admin:mail_servicecall_change", args=[call.pk])):
        response = operator_client.get(url)
        assert response.status_code == 200, url
        assert WELCOME[1] in response.content.decode()
        assert "Secretname" not in response.content.decode()


def test_a_queued_credits_delete_for_an_erased_user_is_sent_without_a_body(credits_service: ServiceStub) -> None:
    path = credits_balance_path("erased-user-1")
    call = service_call_enqueue(target="credits", method="DELETE", path=path)
    assert call is not None
    assert call.user_id is None

    assert "Sent 1 service call(s)" in process_outbox()

    [request] = credits_service.received
    assert (request.method, request.path, request.body) == ("DELETE", "/api/v1/internal/credits/balance/erased-user-1", None)
    assert request.headers["x-service-key"] == SERVICE_KEY


def test_pending_calls_go_with_an_erased_user(
    api: APIClient, credits_service: ServiceStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    credits_service.stop()
    user = register(api, django_capture_on_commit_callbacks)
    assert ServiceCall.objects.filter(user=user, status="pending").count() == 2

    user.delete()

    assert not ServiceCall.objects.exists()  # the erased address is not sent on later
    credits_service.start()
    make_due()
    process_outbox()
    assert credits_service.received == []


def test_the_export_holds_the_users_calls(
    api: APIClient, credits_service: ServiceStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    credits_service.stop()
    user = register(api, django_capture_on_commit_callbacks)

    exported = export_sections(user)["serviceCalls"]

    assert [(row["target"], row["path"], row["status"]) for row in exported] == [
        ("credits", INIT[1], "pending"),
        ("credits", GIFTS[1], "pending"),
    ]
    assert exported[1]["payload"] == {"userId": user.id, "email": "nora@example.com"}


def test_credits_balance_reads_the_four_figures(credits_service: ServiceStub) -> None:
    credits_service.answer("GET", "/api/v1/internal/credits/balance/u-1", BALANCE | {"currency": "credits"})

    assert credits_balance("u-1") == BALANCE

    [request] = credits_service.received
    assert (request.method, request.body, request.headers["x-service-key"]) == ("GET", None, SERVICE_KEY)


@pytest.mark.parametrize(
    "answer",
    [
        b'{"balance": 1}',
        b"[]",
        b'{"balance": "1", "totalEarned": 0, "totalSpent": 0, "transactionsCount": 0}',
        b'{"balance": true, "totalEarned": 0, "totalSpent": 0, "transactionsCount": 0}',
        b"{",
    ],
)
def test_credits_balance_is_none_for_an_unexpected_answer(credits_service: ServiceStub, answer: bytes) -> None:
    credits_service.answers[("GET", "/api/v1/internal/credits/balance/u-1")] = answer

    assert credits_balance("u-1") is None


def test_credits_balance_is_none_when_credits_is_down_failing_unset_or_slow(credits_service: ServiceStub, settings: Any) -> None:
    credits_service.answer("GET", "/api/v1/internal/credits/balance/u-1", BALANCE)
    credits_service.status = 500
    assert credits_balance("u-1") is None

    credits_service.status = 200
    credits_service.delay = 2.5
    started = time.monotonic()
    assert credits_balance("u-1") is None
    assert time.monotonic() - started < 2.4  # the 2 s timeout, not the service's pace

    credits_service.stop()
    assert credits_balance("u-1") is None
    settings.MANA_CREDITS_URL = ""
    assert credits_balance("u-1") is None


def test_credits_delete_answers_the_deleted_count(credits_service: ServiceStub) -> None:
    credits_service.answer("DELETE", "/api/v1/internal/credits/balance/u-1", {"deletedCount": 7})

    assert credits_delete("u-1") == 7

    [request] = credits_service.received
    assert (request.method, request.path, request.body, request.headers["x-service-key"]) == (
        "DELETE",
        "/api/v1/internal/credits/balance/u-1",
        None,
        SERVICE_KEY,
    )


def test_credits_delete_is_none_when_credits_fails_or_is_down(credits_service: ServiceStub, settings: Any) -> None:
    assert credits_delete("u-1") is None  # `{}`: no count
    credits_service.status = 404
    assert credits_delete("u-1") is None
    credits_service.stop()
    assert credits_delete("u-1") is None
    settings.MANA_CREDITS_URL = ""
    assert credits_delete("u-1") is None
