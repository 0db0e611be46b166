from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import LockoutState, Session, User
from core.models import SecurityEvent
from core.personal_data import export_sections, summary_sections

SECURITY_EVENTS_SHOWN = 50
EXPORT_VERSION = 1


def sessions_active(*, actor: User) -> QuerySet[Session]:
    return Session.objects.active().filter(user=actor, expires_at__gt=timezone.now()).order_by("-last_seen_at")


def security_events_recent(*, actor: User) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(user=actor).order_by("-created_at", "-id")[:SECURITY_EVENTS_SHOWN]


def locked_now() -> QuerySet[LockoutState]:
    return LockoutState.objects.filter(locked_until__gt=timezone.now()).order_by("-locked_at")


def data_summary(*, user: User) -> dict[str, Any]:
    """What the service holds about a person, as counts (no secrets, no keys), from every app."""
    return {"user": user, **summary_sections(user)}


def data_export(*, user: User) -> dict[str, Any]:
    """Everything held about the person, from every app's exporter; no secrets."""
    return {"exportedAt": timezone.now(), "exportVersion": EXPORT_VERSION, **export_sections(user)}
