"""Attacks on the mail the service sends (issue 18)."""

import time
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from mail import services as mail_services
from mail.models import DeliveryStatus, OutboxMessage, ServiceCall
from tests.mail.services_stub import ServiceStub
from tests.notify import NotifyStub
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db


def test_attack_line_breaks_in_a_space_name_never_reach_the_mail_subject(
    alice: User, client_for, notify: NotifyStub, django_capture_on_commit_callbacks
) -> None:
    owner = client_for(alice)
    name = "Acme\r\nBcc: x\n\nInjected body\u2028more"
    space = owner.post("/api/v1/spaces", {"name": name, "type": "team"}, format="json").json()["space"]
    with django_capture_on_commit_callbacks(execute=True):
        created = owner.post(f"/api/v1/spaces/{space['id']}/invitations", {"email": "erin@example.com", "role": "member"}, format="json")
    assert created.status_code == 201
    [mail] = notify.to("erin@example.com")
    subject = mail.body["subject"]
    assert not any(character in subject for character in "\r\n\u2028")
    assert "Bcc: x" in subject and "Injected body" in subject  # on the one line, harmless
    assert mail.body["text"].startswith("Hello") or mail.body["text"].startswith("Hallo")
    assert "\n\n" not in OutboxMessage.objects.get().subject


# --- timing: the first attempt runs after the response -------------------------------------------
SLOW = 1.0  # seconds the notification service (or a sibling) takes to answer


@pytest.fixture
def threaded(settings) -> None:
    """The production path: first attempts in the pool, on connections of their own (so these
    tests commit for real: transaction=True)."""
    settings.MAIL_DELIVERY = "thread"


def _timed(call) -> tuple[float, Any]:
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("route", "subject"),
    [("/api/v1/auth/forgot-password", "known"), ("/api/v1/auth/magic-link", "known"), ("/api/v1/auth/resend-verification", "unverified")],
)
def test_attack_timing_does_not_tell_a_registered_address_from_an_unknown_one(
    threaded: None, make_user, notify: NotifyStub, route: str, subject: str
) -> None:
    address = f"{subject}@example.com"
    make_user(address, verified=subject != "unverified")
    notify.delay = SLOW
    api = APIClient()
    known_time, known = _timed(lambda: api.post(route, {"email": address}, format="json"))
    unknown_time, unknown = _timed(lambda: api.post(route, {"email": "nobody@example.com"}, format="json"))
    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()
    # The request does not wait for the notification service: no second of difference.
    assert known_time < SLOW / 2, known_time
    assert abs(known_time - unknown_time) < SLOW / 2
    mail_services.deliveries_wait()
    [mail] = notify.to(address)  # and the mail still arrives, within seconds, with no operator
    assert "token=" in mail.body["text"]
    assert OutboxMessage.objects.get(recipient=address).status == DeliveryStatus.SENT
    assert notify.to("nobody@example.com") == []


@pytest.mark.postgres  # two pool threads write at once: SQLite's shared in-memory test database locks tables
@pytest.mark.django_db(transaction=True)
def test_attack_a_slow_notification_service_cannot_hold_registration(threaded: None, settings, notify: NotifyStub) -> None:
    credits = ServiceStub(delay=SLOW)
    credits.start()
    settings.MANA_CREDITS_URL = credits.url
    notify.delay = SLOW
    try:
        elapsed, response = _timed(
            lambda: APIClient().post(
                "/api/v1/auth/register", {"email": "nora@example.com", "password": PASSWORD, "name": "Nora"}, format="json"
            )
        )
        assert response.status_code == 201
        assert elapsed < SLOW / 2, elapsed
        mail_services.deliveries_wait()
        assert [call.status for call in ServiceCall.objects.all()] == [DeliveryStatus.SENT] * ServiceCall.objects.count()
        assert ServiceCall.objects.exists() and credits.received
        assert notify.to("nora@example.com")
    finally:
        credits.stop()


@pytest.mark.django_db(transaction=True)
def test_a_failed_first_attempt_in_the_pool_is_left_to_the_retry(threaded: None, make_user, notify: NotifyStub) -> None:
    make_user("known@example.com")
    notify.status = 503
    assert APIClient().post("/api/v1/auth/forgot-password", {"email": "known@example.com"}, format="json").status_code == 200
    mail_services.deliveries_wait()
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == (DeliveryStatus.PENDING, 1)
    notify.status = 200
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert mail_services.process_outbox().mail_delivered == 1
    assert notify.to("known@example.com")
