"""Mail through the outbox: rendered and stored (body KEK-wrapped) in the transaction of the
action that sends it, first delivered right after commit, retried by `process_outbox`."""

import json
import logging
from datetime import timedelta
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from core.keyring import get_keyring, rewrap_rows
from core.rewrap import RewrapCount, rewrapper
from mail.models import OutboxMessage

logger = logging.getLogger(__name__)

LANGUAGES = ("de", "en")
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)


def _aad(recipient: str) -> bytes:
    return f"outbox:{recipient}".encode()


def _render(template: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
    language = language if language in LANGUAGES else "de"
    context = context | {"base_url": settings.BASE_URL, "lang": language}
    text = render_to_string(f"emails/{language}/{template}.txt", context)
    subject, _, body = text.partition("\n\n")
    html = render_to_string(f"emails/{language}/{template}.html", context)
    return subject.strip(), body.strip() + "\n", html


class Addressee(Protocol):
    """The user a message is about (the accounts user; mail sits below accounts)."""

    @property
    def pk(self) -> Any: ...

    @property
    def locale(self) -> str: ...


def mail_enqueue(
    *, template: str, recipient: str, context: dict[str, Any], user: Addressee | None = None, language: str | None = None
) -> OutboxMessage:
    """Store a message in the outbox and deliver it once the surrounding transaction commits."""
    subject, text, html = _render(template, language or (user.locale if user else "de"), context)
    body = json.dumps({"text": text, "html": html}).encode()
    message = OutboxMessage.objects.create(
        user_id=user.pk if user else None,
        recipient=recipient,
        subject=subject,
        template=template,
        body_wrapped=get_keyring().wrap_text(body, aad=_aad(recipient)),
    )
    transaction.on_commit(lambda: deliver(message.pk))
    return message


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def deliver(message_id: int) -> bool:
    """Send one due message. Claimed under a row lock (skip locked), so two workers never send
    the same message; a failure is recorded with its next attempt time, never raised."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxMessage.Status.PENDING, next_attempt_at__lte=timezone.now())
            .first()
        )
        if message is None:
            return False
        message.attempts += 1
        try:
            # Inside the try: a body whose KEK is gone is a failed attempt, not a crash that
            # would stop the outbox at this message on every run.
            body = json.loads(get_keyring().unwrap_text(message.body_wrapped, aad=_aad(message.recipient)))
            email = EmailMultiAlternatives(message.subject, body["text"], to=[message.recipient])
            email.attach_alternative(body["html"], "text/html")
            email.send()
        except Exception as exc:
            # Only the kind of failure: a notify error body could echo the message back.
            message.last_error = f"{type(exc).__name__}: {str(exc)[:200]}" if isinstance(exc, OSError) else type(exc).__name__
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxMessage.Status.FAILED
            message.next_attempt_at = timezone.now() + _backoff(message.attempts)
            message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning("mail %s (%s) not delivered, attempt %s: %s", message.pk, message.template, message.attempts, message.last_error)
            return False
        logger.info("mail %s (%s) delivered on attempt %s", message.pk, message.template, message.attempts)
        message.status = OutboxMessage.Status.SENT
        message.sent_at = timezone.now()
        message.body_wrapped = ""  # delivered: the links it held need not be kept
        message.last_error = ""
        message.save(update_fields=["attempts", "status", "sent_at", "body_wrapped", "last_error"])
        return True


def process_outbox(*, limit: int = 100) -> tuple[int, int]:
    """Deliver every due message; returns (delivered, still failing)."""
    due = list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    delivered = sum(1 for message_id in due if deliver(message_id))
    return delivered, len(due) - delivered


def outbox_retry(*, message_ids: list[int]) -> int:
    """Operator's retry: failed or waiting messages become due now and are sent at once."""
    OutboxMessage.objects.filter(pk__in=message_ids).exclude(status=OutboxMessage.Status.SENT).update(
        status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now()
    )
    return sum(1 for message_id in message_ids if deliver(message_id))


@rewrapper("outbox messages", OutboxMessage, order=40)
def outbox_rewrap(**_: Any) -> RewrapCount:
    """Re-wrap undelivered bodies under the active KEK (KEK rotation)."""
    rows = OutboxMessage.objects.only("pk", "recipient", "body_wrapped")
    return RewrapCount(rewrap_rows(rows, "body_wrapped", lambda message: _aad(message.recipient)))
