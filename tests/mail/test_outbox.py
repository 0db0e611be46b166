"""Mail through the outbox (DESIGN.md §Configuration): stored KEK-wrapped in the transaction of
the action, first sent after commit, retried with backoff by `process_outbox`, sent exactly once."""

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from mail.models import OutboxMessage
from mail.services import MAX_ATTEMPTS, deliver
from tests.notify import Delivery, NotifyStub

pytestmark = pytest.mark.django_db

PASSWORD = "a sturdy passphrase 42"
DOCUMENTED_BODY = {"channel", "appId", "recipient", "subject", "body", "text"}


def register(api: APIClient, capture: Callable[..., Any], email: str, name: str = "Nora", accept_language: str | None = None) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    with capture(execute=True):
        response = api.post("/api/v1/auth/register", {"email": email, "password": PASSWORD, "name": name}, format="json", headers=headers)
    assert response.status_code == 201, response.content


def forgot_password(api: APIClient, capture: Callable[..., Any], email: str) -> None:
    with capture(execute=True):
        response = api.post("/api/v1/auth/forgot-password", {"email": email}, format="json")
    assert response.status_code == 200, response.content


def make_due(message: OutboxMessage) -> None:
    """Skip the backoff: the next attempt is due now."""
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def process_outbox() -> None:
    call_command("process_outbox", stdout=io.StringIO())


def the_only_mail(notify: NotifyStub, recipient: str) -> Delivery:
    [delivery] = notify.to(recipient)
    return delivery


def test_mail_survives_a_notify_outage_and_is_delivered_once_by_process_outbox(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    url = notify.url
    notify.stop()

    register(api, django_capture_on_commit_callbacks, "nora@example.com")

    assert User.objects.filter(email="nora@example.com", email_verified=False).exists()
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.recipient, message.template) == (
        OutboxMessage.Status.PENDING,
        1,
        "nora@example.com",
        "verify_email",
    )
    assert message.last_error != ""
    assert message.next_attempt_at > timezone.now()
    assert message.sent_at is None
    assert notify.deliveries == []

    process_outbox()  # not due yet: the backoff holds it back
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.PENDING, 1)

    notify.start()
    assert notify.url == url  # back on the same port, so settings.MANA_NOTIFY_URL still points at it
    make_due(message)
    process_outbox()

    delivery = the_only_mail(notify, "nora@example.com")
    assert len(notify.deliveries) == 1
    assert delivery.path == "/api/v1/notifications/send"
    assert delivery.headers["x-service-key"] == django_settings.MANA_SERVICE_KEY
    assert set(delivery.body) == DOCUMENTED_BODY
    assert (delivery.body["channel"], delivery.body["appId"], delivery.body["recipient"]) == ("email", "mana-auth", "nora@example.com")
    assert delivery.body["subject"] == message.subject != ""
    assert "<a href=" in delivery.body["body"]
    assert "<a href=" not in delivery.body["text"]
    token = delivery.link_token("verify-email")
    assert f"{django_settings.BASE_URL}/verify-email?token={token}" in delivery.body["text"]

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error, message.body_wrapped) == (OutboxMessage.Status.SENT, 2, "", "")
    assert message.sent_at is not None

    make_due(message)
    process_outbox()
    assert len(notify.deliveries) == 1  # exactly once
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.SENT, 2)

    verified = api.post("/api/v1/auth/verify-email", {"token": token}, format="json")
    assert verified.status_code == 200
    assert verified.json()["user"]["emailVerified"] is True
    assert User.objects.get(email="nora@example.com").email_verified


def test_notify_answering_500_is_a_failure_that_is_retried(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notify.status = 500

    register(api, django_capture_on_commit_callbacks, "nora@example.com")

    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == (OutboxMessage.Status.PENDING, 1)
    assert message.last_error != ""
    assert message.body_wrapped != ""
    assert message.sent_at is None

    make_due(message)
    process_outbox()
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.PENDING, 2)
    assert message.next_attempt_at > timezone.now()

    notify.status = 200
    make_due(message)
    process_outbox()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.body_wrapped) == (OutboxMessage.Status.SENT, 3, "")
    assert len(notify.to("nora@example.com")) == 1
    assert len(notify.deliveries) == 1


def retry(message: OutboxMessage) -> OutboxMessage:
    """One more attempt by `process_outbox`, its backoff skipped."""
    make_due(message)
    process_outbox()
    message.refresh_from_db()
    return message


def test_backoff_grows_and_the_message_fails_for_good_after_max_attempts(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notify.stop()

    before_first = timezone.now()
    register(api, django_capture_on_commit_callbacks, "nora@example.com")
    message = OutboxMessage.objects.get()
    assert message.attempts == 1
    first_delay_at_most = message.next_attempt_at - before_first

    message = retry(message)
    after_second = timezone.now()
    assert message.attempts == 2
    second_delay_at_least = message.next_attempt_at - after_second
    assert second_delay_at_least > first_delay_at_most

    while message.attempts < MAX_ATTEMPTS - 1:
        attempts = message.attempts
        message = retry(message)
        assert (message.status, message.attempts) == (OutboxMessage.Status.PENDING, attempts + 1)

    message = retry(message)
    assert (message.status, message.attempts) == (OutboxMessage.Status.FAILED, MAX_ATTEMPTS)
    assert message.last_error != ""
    assert message.sent_at is None

    notify.start()  # the service is back, but a failed message is given up on
    message = retry(message)
    assert (message.status, message.attempts) == (OutboxMessage.Status.FAILED, MAX_ATTEMPTS)
    assert deliver(message.pk) is False
    assert notify.deliveries == []


def test_the_outbox_never_holds_a_usable_token_at_rest(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notify.stop()
    register(api, django_capture_on_commit_callbacks, "nora@example.com")

    message = OutboxMessage.objects.get()
    assert message.body_wrapped.startswith("kw1:")
    table = OutboxMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - the model's own table name
        stored = [str(value) for row in cursor.fetchall() for value in row]
    assert len(stored) == len(OutboxMessage._meta.concrete_fields)

    notify.start()
    make_due(message)
    process_outbox()
    token = the_only_mail(notify, "nora@example.com").link_token("verify-email")

    assert len(token) >= 20
    assert not [value for value in stored if token in value]
    assert not [value for value in stored if "verify-email?token=" in value]
    message.refresh_from_db()
    assert message.body_wrapped == ""


def test_reset_mail_is_english_for_an_english_user_and_german_by_default(
    api: APIClient,
    notify: NotifyStub,
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    make_user("emma@example.com", name="Emma", locale="en")
    make_user("dora@example.com", name="Dora")

    forgot_password(api, django_capture_on_commit_callbacks, "emma@example.com")
    forgot_password(api, django_capture_on_commit_callbacks, "dora@example.com")

    english = the_only_mail(notify, "emma@example.com").body
    assert english["subject"] == "Reset your password"
    assert "Hello Emma" in english["text"]
    assert '<html lang="en">' in english["body"]
    assert "Passwort" not in english["subject"] + english["text"] + english["body"]

    german = the_only_mail(notify, "dora@example.com").body
    assert german["subject"] == "Passwort zurücksetzen"
    assert "Hallo Dora" in german["text"]
    assert "Passwort" in german["text"]
    assert '<html lang="de">' in german["body"]
    assert "your password" not in german["text"]
    assert OutboxMessage.objects.filter(template="reset_password", status=OutboxMessage.Status.SENT).count() == 2


def test_unknown_locale_falls_back_to_german(
    api: APIClient,
    notify: NotifyStub,
    make_user: Callable[..., User],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    make_user("fran@example.com", name="Fran", locale="fr")

    forgot_password(api, django_capture_on_commit_callbacks, "fran@example.com")

    assert the_only_mail(notify, "fran@example.com").body["subject"] == "Passwort zurücksetzen"


def test_registration_mail_follows_the_browser_language(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    register(api, django_capture_on_commit_callbacks, "emma@example.com", accept_language="en-GB,en;q=0.9")
    register(api, django_capture_on_commit_callbacks, "dora@example.com")

    assert User.objects.get(email="emma@example.com").locale == "en"
    assert the_only_mail(notify, "emma@example.com").body["subject"] == "Please confirm your email address"
    assert User.objects.get(email="dora@example.com").locale == "de"
    assert the_only_mail(notify, "dora@example.com").body["subject"] == "Bitte bestätige deine E-Mail-Adresse"


def test_user_values_are_escaped_in_the_html_part_only(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    name = "<script>alert(1)</script>"

    register(api, django_capture_on_commit_callbacks, "mallory@example.com", name=name)

    mail = the_only_mail(notify, "mallory@example.com").body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mail["body"]
    assert "<script" not in mail["body"]
    assert name in mail["text"]
    assert "&lt;" not in mail["text"]
    assert "<script" not in mail["subject"]


def test_without_a_notify_service_mail_goes_to_the_console_and_the_outbox(
    api: APIClient, settings: Any, capsys: pytest.CaptureFixture[str], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.MANA_NOTIFY_URL = ""
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

    register(api, django_capture_on_commit_callbacks, "nora@example.com", accept_language="en")

    out = capsys.readouterr().out
    assert "To: nora@example.com" in out
    assert "Subject: Please confirm your email address" in out
    assert f"{django_settings.BASE_URL}/verify-email?token=" in out
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.recipient, message.body_wrapped) == (
        OutboxMessage.Status.SENT,
        1,
        "nora@example.com",
        "",
    )


def test_deliver_does_not_send_a_message_twice(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    register(api, django_capture_on_commit_callbacks, "nora@example.com")
    message = OutboxMessage.objects.get()
    assert message.status == OutboxMessage.Status.SENT
    assert len(notify.deliveries) == 1

    make_due(message)
    assert deliver(message.pk) is False
    assert deliver(message.pk) is False

    assert len(notify.deliveries) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.SENT, 1)


def test_deliver_leaves_a_message_alone_before_its_next_attempt(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    notify.stop()
    register(api, django_capture_on_commit_callbacks, "nora@example.com")
    message = OutboxMessage.objects.get()
    notify.start()

    assert deliver(message.pk) is False  # backing off: not due yet

    assert notify.deliveries == []
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.PENDING, 1)


def test_a_body_that_cannot_be_unwrapped_is_a_failed_attempt_not_a_crash(alice: User, notify: NotifyStub, settings) -> None:
    message = OutboxMessage.objects.create(
        user=alice, recipient=alice.email, subject="s", template="verify_email", body_wrapped="kw1:gone-kek:AAAA:AAAA"
    )
    assert deliver(message.pk) is False
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("pending", 1, "KeyringError")
    assert notify.deliveries == []
