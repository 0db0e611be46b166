import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from core.compiled import Write, row_insert, write_all
from core.models import SecurityEvent
from core.origin import NO_ORIGIN, Origin

logger = logging.getLogger("mana_auth.security")


def _event(type: str, user_id: str | None, origin: Origin, metadata: dict[str, Any] | None) -> SecurityEvent:
    return SecurityEvent(type=type, user_id=user_id, ip_address=origin.ip, user_agent=origin.user_agent, metadata=metadata or {})


def security_event_logged(*, type: str, user_id: str | None) -> None:
    # The log line names the event and the user id only; metadata stays in the database.
    logger.info("security event %s user=%s", type, user_id or "-")


def security_event_write(
    *, type: str, user_id: str | None = None, origin: Origin = NO_ORIGIN, metadata: dict[str, Any] | None = None
) -> Write:
    """One security event's row, for the act it records to write with its own (core/compiled.py);
    the act logs it with `security_event_logged` once it has been written."""
    return row_insert(_event(type, user_id, origin, metadata))


def security_event_record(
    *,
    type: str,
    user_id: str | None = None,
    origin: Origin = NO_ORIGIN,
    metadata: dict[str, Any] | None = None,
    along: Sequence[Write] = (),
) -> SecurityEvent:
    """Append one security event, with `along`, the writes of the act it records, in the same
    statement where the database allows it (core/compiled.py). Callers that audit a failure call
    this after their own transaction has rolled back, so the row survives it (DESIGN.md rule 5)."""
    event = _event(type, user_id, origin, metadata)
    write_all(*along, row_insert(event))
    security_event_logged(type=type, user_id=user_id)
    return event


def security_events_purge(*, now: datetime | None = None) -> int:
    """Delete the events no user can be named for (erased accounts, unknown addresses) once the
    operator's retention has passed. Events of existing users stay: they are their history."""
    days = settings.SECURITY_EVENT_RETENTION_DAYS
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = SecurityEvent.objects.filter(user__isnull=True, created_at__lt=cutoff).delete()
    return deleted
