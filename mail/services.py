"""The outbox: mail, rendered and stored (body KEK-wrapped), and calls to sibling services
(PLATFORM.md §10), both written in the transaction of the action that causes them, first sent
right after commit by a small pool of threads (after the response: a request never waits for a
sibling, and its duration does not tell whether it mailed anyone) and retried by `process_outbox`.
Also the synchronous GDPR calls to credits."""

import json
import logging
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connections, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from core.keyring import get_keyring, rewrap_rows
from core.rewrap import RewrapCount, rewrapper
from mail.models import DeliveryStatus, OutboxMessage, ServiceCall

logger = logging.getLogger(__name__)

LANGUAGES = ("de", "en")
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)


def _aad(recipient: str) -> bytes:
    return f"outbox:{recipient}".encode()


# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _one_line(value: str) -> str:
    """A value or subject on one line: a line break in a name (a space's, a user's) would start
    a header of its own toward the notification service, or a blank line the body."""
    return _CONTROL.sub(" ", value)


def _render(template: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
    language = language if language in LANGUAGES else "de"
    context = {key: _one_line(value) if isinstance(value, str) else value for key, value in context.items()}
    context |= {"base_url": settings.BASE_URL, "lang": language}
    text = render_to_string(f"emails/{language}/{template}.txt", context)
    subject, _, body = text.partition("\n\n")
    html = render_to_string(f"emails/{language}/{template}.html", context)
    return _one_line(subject).strip(), body.strip() + "\n", html


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
    transaction.on_commit(lambda: _first_attempt(deliver, message.pk))
    return message


# --- first attempts, after the response ---------------------------------------------------------
DELIVERY_WORKERS = 4
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_pending: set[Future[None]] = set()


def _first_attempt(send: Callable[[int], bool], pk: int) -> None:
    """The first attempt at a committed row: in a pool thread (MAIL_DELIVERY = "thread"), or
    right here ("inline": the test suite, whose open transaction other connections cannot see)."""
    if settings.MAIL_DELIVERY == "inline":
        send(pk)
        return
    global _pool
    with _pool_lock:
        if _pool is None:
            # Made on first use, so each forked worker process has a pool of its own.
            _pool = ThreadPoolExecutor(max_workers=DELIVERY_WORKERS, thread_name_prefix="outbox")
        future = _pool.submit(_attempt_in_thread, send, pk)
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future: Future[None]) -> None:
    with _pool_lock:
        _pending.discard(future)


def _attempt_in_thread(send: Callable[[int], bool], pk: int) -> None:
    try:
        send(pk)
    except Exception:
        # A send failure is recorded by `send`; this is the database failing: the row stays
        # pending and `process_outbox` retries it.
        logger.exception("first attempt at outbox row %s failed", pk)
    finally:
        connections.close_all()  # this thread's connections only; a job must not hold one while idle


def deliveries_wait(timeout: float = 10.0) -> None:
    """Wait until the first attempts handed to the pool so far are done (tests, shutdown)."""
    with _pool_lock:
        pending = set(_pending)
    futures_wait(pending, timeout=timeout)


def _backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 30 s after the first failure, doubling, at most an hour."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _send_claimed(
    model: Any,
    pk: int,
    *,
    send: Callable[[Any], None],
    failure: Callable[[Exception], str],
    max_attempts: int,
    delivered: dict[str, Any],
    name: Callable[[Any], str],
) -> bool:
    """Send one due row of an outbox (mail or service calls). Claimed under a row lock (skip
    locked), so two workers never send the same one; a failure is recorded with its next attempt
    time, never raised. `delivered` are the fields a sent row no longer needs to keep."""
    with transaction.atomic():
        row = (
            model.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
            .first()
        )
        if row is None:
            return False
        row.attempts += 1
        try:
            send(row)
        except Exception as exc:
            row.last_error = failure(exc)
            if row.attempts >= max_attempts:
                row.status = DeliveryStatus.FAILED
            row.next_attempt_at = timezone.now() + _backoff(row.attempts)
            row.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning("%s not delivered, attempt %s: %s", name(row), row.attempts, row.last_error)
            return False
        logger.info("%s delivered on attempt %s", name(row), row.attempts)
        row.status = DeliveryStatus.SENT
        row.sent_at = timezone.now()
        row.last_error = ""
        for field, value in delivered.items():
            setattr(row, field, value)
        row.save(update_fields=["attempts", "status", "sent_at", "last_error", *delivered])
        return True


def _retry(model: Any, pks: list[int], deliver_one: Callable[[int], bool]) -> int:
    """Operator's retry: failed or waiting rows become due now and are sent at once."""
    model.objects.filter(pk__in=pks).exclude(status=DeliveryStatus.SENT).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
    )
    return sum(1 for pk in pks if deliver_one(pk))


def _send_mail(message: OutboxMessage) -> None:
    # The unwrap is part of the attempt: a body whose KEK is gone is a failed attempt, not a
    # crash that would stop the outbox at this message on every run.
    body = json.loads(get_keyring().unwrap_text(message.body_wrapped, aad=_aad(message.recipient)))
    email = EmailMultiAlternatives(message.subject, body["text"], to=[message.recipient])
    email.attach_alternative(body["html"], "text/html")
    email.send()


def _mail_failure(exc: Exception) -> str:
    # Only the kind of failure: a notify error body could echo the message back.
    return f"{type(exc).__name__}: {str(exc)[:200]}" if isinstance(exc, OSError) else type(exc).__name__


def deliver(message_id: int) -> bool:
    """Send one due message (the body, holding the links it mailed, is dropped once sent)."""
    return _send_claimed(
        OutboxMessage,
        message_id,
        send=_send_mail,
        failure=_mail_failure,
        max_attempts=MAX_ATTEMPTS,
        delivered={"body_wrapped": ""},
        name=lambda message: f"mail {message.pk} ({message.template})",
    )


@dataclass(frozen=True)
class OutboxRun:
    mail_delivered: int
    mail_failing: int
    calls_delivered: int
    calls_failing: int


def _due(model: type[OutboxMessage] | type[ServiceCall], limit: int) -> list[int]:
    return list(
        model.objects.filter(status=model.Status.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def process_outbox(*, limit: int = 100) -> OutboxRun:
    """Deliver every due message and service call (at most `limit` of each)."""
    mail_due = _due(OutboxMessage, limit)
    mail_delivered = sum(1 for message_id in mail_due if deliver(message_id))
    calls_due = _due(ServiceCall, limit)
    calls_delivered = sum(1 for call_id in calls_due if service_call_deliver(call_id))
    return OutboxRun(mail_delivered, len(mail_due) - mail_delivered, calls_delivered, len(calls_due) - calls_delivered)


def outbox_retry(*, message_ids: list[int]) -> int:
    return _retry(OutboxMessage, message_ids, deliver)


@rewrapper("outbox messages", OutboxMessage, order=40)
def outbox_rewrap(**_: Any) -> RewrapCount:
    """Re-wrap undelivered bodies under the active KEK (KEK rotation)."""
    rows = OutboxMessage.objects.only("pk", "recipient", "body_wrapped")
    return RewrapCount(rewrap_rows(rows, "body_wrapped", lambda message: _aad(message.recipient)))


# Service calls. With the backoff's one-hour cap, 30 attempts keep trying for about a day.
CALL_MAX_ATTEMPTS = 30
GDPR_TIMEOUT = 2.0  # PLATFORM.md §10: the data summary and the erasure wait no longer for credits
_URL_SETTINGS = {ServiceCall.Target.CREDITS: "MANA_CREDITS_URL", ServiceCall.Target.MAIL: "MANA_MAIL_URL"}


class ServiceNotConfiguredError(Exception):
    """The target's URL is unset."""


def unconfigured_services() -> list[str]:
    """The settings of the sibling services whose calls are skipped."""
    return [name for name in _URL_SETTINGS.values() if not getattr(settings, name)]


def service_configured(target: str) -> bool:
    return bool(getattr(settings, _URL_SETTINGS[ServiceCall.Target(target)]))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure (HTTPError 3xx): following it would hand the service key to
    wherever it points, and turn a POST into a GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _request(target: str, method: str, path: str, payload: Any, *, timeout: float) -> Any:
    """One call; the decoded JSON answer (None when empty). Raises on any failure, a non-2xx
    answer included (urllib raises HTTPError for those)."""
    base = getattr(settings, _URL_SETTINGS[ServiceCall.Target(target)])
    if not base:
        raise ServiceNotConfiguredError(target)
    request = urllib.request.Request(  # noqa: S310 - an operator-configured http(s) URL
        f"{base}{path}",
        data=None if payload is None else json.dumps(payload).encode(),
        method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json", "X-Service-Key": settings.MANA_SERVICE_KEY},
    )
    with _opener.open(request, timeout=timeout) as response:
        body = response.read()
    return json.loads(body) if body else None


def _failure(exc: Exception) -> str:
    """The kind of failure only: an answer body could echo what was sent."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTPError {exc.code}"
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, Exception):
        return f"URLError {type(exc.reason).__name__}"
    return type(exc).__name__


def service_call_enqueue(
    *, target: str, method: str, path: str, payload: dict[str, Any] | None = None, user_id: Any = None
) -> ServiceCall | None:
    """Queue a call in the caller's transaction; it is first sent once that commits, and a
    failure there never reaches the caller (robust). None: the target is unset, the call skipped."""
    if not service_configured(target):
        return None
    call = ServiceCall.objects.create(user_id=user_id, target=target, method=method, path=path, payload=payload)
    transaction.on_commit(lambda: _first_attempt(service_call_deliver, call.pk), robust=True)
    return call


def service_call_deliver(call_id: int) -> bool:
    """Send one due call (its payload, the address and name it carried, is dropped once sent)."""
    return _send_claimed(
        ServiceCall,
        call_id,
        send=lambda call: _request(call.target, call.method, call.path, call.payload, timeout=settings.MANA_SERVICE_CALL_TIMEOUT),
        failure=_failure,
        max_attempts=CALL_MAX_ATTEMPTS,
        delivered={"payload": None},
        name=lambda call: f"service call {call.pk} ({call.target})",
    )


def service_call_retry(*, call_ids: list[int]) -> int:
    return _retry(ServiceCall, call_ids, service_call_deliver)


CREDITS_FIELDS = ("balance", "totalEarned", "totalSpent", "transactionsCount")


def credits_balance_path(user_id: str) -> str:
    return f"/api/v1/internal/credits/balance/{urllib.parse.quote(str(user_id), safe='')}"


def credits_balance(user_id: str) -> dict[str, Any] | None:
    """The user's credits `{balance,totalEarned,totalSpent,transactionsCount}` for the data
    summary; None when credits is unset, down, slower than 2 s or answers something else."""
    try:
        answer = _request(ServiceCall.Target.CREDITS, "GET", credits_balance_path(user_id), None, timeout=GDPR_TIMEOUT)
    except Exception as exc:
        logger.warning("credits balance not read: %s", _failure(exc))
        return None
    if not isinstance(answer, dict) or not all(_is_number(answer.get(name)) for name in CREDITS_FIELDS):
        logger.warning("credits balance not read: unexpected answer")
        return None
    return {name: answer[name] for name in CREDITS_FIELDS}


def credits_delete(user_id: str) -> int | None:
    """Erase the user's credits; the service's `deletedCount`, or None when credits is unset,
    down, slower than 2 s or answers something else (the caller shows the failure and can queue a
    retry with `service_call_enqueue(target="credits", method="DELETE", path=credits_balance_path(...))`)."""
    try:
        answer = _request(ServiceCall.Target.CREDITS, "DELETE", credits_balance_path(user_id), None, timeout=GDPR_TIMEOUT)
    except Exception as exc:
        logger.warning("credits not deleted: %s", _failure(exc))
        return None
    count = answer.get("deletedCount") if isinstance(answer, dict) else None
    if not isinstance(count, int) or isinstance(count, bool):
        logger.warning("credits not deleted: unexpected answer")
        return None
    return count


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
