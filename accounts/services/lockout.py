"""The lockout: credential failures per address, decided under the address's row lock, so
concurrent attempts cannot race past it. Only a credential failure lands here (DESIGN.md rule 2)."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.models import DeviceToken, LockoutState, LoginAttempt, User
from accounts.services.email_links import reset_link_mail
from core.compiled import CompiledQuery, Write, field_names, insert_row, instances, row_insert, row_insert_or_lock, row_update
from core.errors import ApiError, ErrorCode
from core.origin import Origin
from core.secrets import token_hash
from core.services import security_event_record
from core.text import normalise_email

logger = logging.getLogger(__name__)

LOCK_THRESHOLD = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=30)
DEVICE_FAILURE_LIMIT = 10


def email_fingerprint(email: str) -> str:
    """Identifies an address in events that are not its owner's, without spelling it out."""
    return token_hash(f"email:{email}")[:16]


# A credential attempt without its account at hand starts here (core/compiled.py).
_LOCKOUT_LOCKED = CompiledQuery(
    lambda email: LockoutState.objects.select_for_update().filter(email=email).values_list(*field_names(LockoutState)), "email"
)
# A password sign-in reads the row with the address's account, once the row is locked.
_LOCKOUT_WITH_ACCOUNT = CompiledQuery(
    lambda email: LockoutState.objects.filter(email=email).values_list(*field_names(LockoutState), *field_names(User, "user__")),
    "email",
)


def lock_state(email: str) -> LockoutState:
    """The email's lockout row, locked for this transaction: concurrent attempts queue here."""
    if row := _LOCKOUT_LOCKED.first(email=email):
        return instances(row, LockoutState)[0]
    return lock_state_with_account(email)[0]  # the address's first attempt: the sign-in's way makes the row


def lock_state_with_account(email: str) -> tuple[LockoutState, User | None]:
    """The email's lockout row, locked for this transaction (made by the address's first
    attempt), and the address's account if it has one: two statements, first attempt or not. The
    read comes after the lock, in a snapshot of its own, so an attempt that queued behind a
    password reset checks the new password, not the one read before it waited."""
    # Of attempts racing to make the row, one inserts, the others wait for its commit and lock it in turn.
    row_insert_or_lock(LockoutState(email=email))
    row = _LOCKOUT_WITH_ACCOUNT.first(email=email)
    if row is None:  # the row is ours until the commit: no one can have removed it
        raise LockoutState.DoesNotExist("a lockout row went between its insert and its lock")
    state, account = instances(row, LockoutState, User)
    return state, account if account.pk is not None else None


def _attempt(email: str, origin: Origin, outcome: str, *, device: DeviceToken | None = None, method: str = "password") -> LoginAttempt:
    return LoginAttempt(email=email, method=method, ip_address=origin.ip, outcome=outcome, device_token=device)


def _record_attempt(email: str, origin: Origin, outcome: str, *, device: DeviceToken | None = None, method: str = "password") -> None:
    insert_row(_attempt(email, origin, outcome, device=device, method=method))


def _counted_failures(state: LockoutState, now: datetime) -> int:
    since = now - FAILURE_WINDOW
    if state.cleared_at and state.cleared_at > since:
        since = state.cleared_at
    return LoginAttempt.objects.filter(
        email=state.email, outcome=LoginAttempt.Outcome.FAILURE, device_token__isnull=True, created_at__gt=since
    ).count()


def locked(state: LockoutState, now: datetime) -> bool:
    return bool(state.locked_until and state.locked_until > now)


def _retry_after(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


def locked_error(state: LockoutState, now: datetime) -> ApiError | None:
    """ACCOUNT_LOCKED with its Retry-After while the lock holds, else None."""
    if state.locked_until is None or not locked(state, now):
        return None
    return ApiError(ErrorCode.ACCOUNT_LOCKED, retry_after=_retry_after(state.locked_until, now))


def failure_register(
    state: LockoutState, user: User | None, device: DeviceToken | None, origin: Origin, now: datetime, *, method: str
) -> None:
    """A credential failure (INVALID_CREDENTIALS or TWO_FACTOR_FAILED), and nothing else, lands here."""
    _record_attempt(state.email, origin, LoginAttempt.Outcome.FAILURE, device=device, method=method)
    metadata: dict[str, Any] = {"method": method} | ({} if user else {"emailFingerprint": email_fingerprint(state.email)})
    security_event_record(type="LOGIN_FAILURE", user_id=user.id if user else None, origin=origin, metadata=metadata)
    if device is not None:
        # Failures from a known device count against that device only; too many void it.
        device_failures = LoginAttempt.objects.filter(
            device_token=device, outcome=LoginAttempt.Outcome.FAILURE, created_at__gt=now - FAILURE_WINDOW
        ).count()
        if device_failures >= DEVICE_FAILURE_LIMIT:
            DeviceToken.objects.filter(pk=device.pk).update(revoked_at=now)
        return
    if _counted_failures(state, now) >= LOCK_THRESHOLD and not locked(state, now):
        state.locked_at = now
        state.locked_until = now + LOCK_DURATION
        state.save(update_fields=["locked_at", "locked_until"])
        security_event_record(
            type="ACCOUNT_LOCKED",
            user_id=user.id if user else None,
            origin=origin,
            metadata={"lockedUntil": state.locked_until.isoformat()},
        )
        if user is not None:
            reset_link_mail(user, template="account_locked")


def blocked_by_lock(state: LockoutState, device: DeviceToken | None, origin: Origin, now: datetime, *, method: str) -> ApiError | None:
    """A locked email refuses credential attempts, except from a device that signed in before.
    The refusal is recorded, but as BLOCKED: it never counts or extends the lock."""
    error = locked_error(state, now)
    if error is None or device is not None:
        return None
    _record_attempt(state.email, origin, LoginAttempt.Outcome.BLOCKED, method=method)
    return error


def success_writes(state: LockoutState, device: DeviceToken | None, origin: Origin, now: datetime, *, method: str) -> list[Write]:
    """A sign-in that passed clears the email's failures, unless it came through a lock (a known
    device): the lock, caused elsewhere, stays for everyone else. The writes go with the sign-in's
    own (`sign_in_complete(along=…)`), in its transaction."""
    writes = [row_insert(_attempt(state.email, origin, LoginAttempt.Outcome.SUCCESS, device=device, method=method))]
    if not locked(state, now):
        state.cleared_at = now
        writes.append(row_update(LockoutState, state.pk, cleared_at=now))
    return writes


def lockout_clear(*, email: str) -> None:
    now = timezone.now()
    LockoutState.objects.filter(email=normalise_email(email)).update(cleared_at=now, locked_until=None)


def service_error_record(origin: Origin, action: str) -> None:
    """Leave a SERVICE_ERROR event if the database still takes writes; never mask the error."""
    try:
        with transaction.atomic():
            security_event_record(type="SERVICE_ERROR", origin=origin, metadata={"action": action})
    except DatabaseError:
        logger.warning("could not record SERVICE_ERROR for %s: the database refuses writes", action)
