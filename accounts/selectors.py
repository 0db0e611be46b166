import re
from datetime import datetime
from typing import Any

from django.db.models import Max, QuerySet
from django.utils import timezone

from accounts.models import LockoutState, Session, User
from core.models import SecurityEvent
from core.personal_data import export_sections, summary_sections
from mail.services import credits_balance

SECURITY_EVENTS_SHOWN = 50
EXPORT_VERSION = 1
NO_CREDITS = {"balance": 0, "totalEarned": 0, "totalSpent": 0, "transactionsCount": 0}
# No feedback board lives here: the platform's karma is not this service's to count.
FEEDBACK_KARMA = 0


def sessions_active(*, actor: User) -> QuerySet[Session]:
    return Session.objects.active().filter(user=actor, expires_at__gt=timezone.now()).order_by("-last_seen_at")


def session_started_at(session_id: str | None) -> datetime | None:
    """When the sign-in behind a session happened (an ID token's auth_time)."""
    return Session.objects.filter(pk=session_id).values_list("created_at", flat=True).first() if session_id else None


def security_events_recent(*, actor: User, limit: int = SECURITY_EVENTS_SHOWN) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(user=actor).order_by("-created_at", "-id")[:limit]


def locked_now() -> QuerySet[LockoutState]:
    return LockoutState.objects.filter(locked_until__gt=timezone.now()).order_by("-locked_at")


def _label(entity: str) -> str:
    """ "apiKeys" → "Api keys": the entity names the apps count under, spelled out."""
    return re.sub(r"(?<!^)([A-Z])", r" \1", entity).capitalize()


def _this_service(counts: dict[str, int]) -> dict[str, Any]:
    """This service's own records as one data source of the summary, counted by every app's hook."""
    entities = [{"entity": entity, "count": count, "label": _label(entity)} for entity, count in counts.items()]
    return {
        "projectId": "mana-auth",
        "projectName": "Mana account",
        "icon": "key",
        "available": True,
        "entities": entities,
        "totalCount": sum(entity["count"] for entity in entities),
    }


def data_summary(*, user: User) -> dict[str, Any]:
    """What the service holds about a person (PLATFORM.md §5): its own records (every app's
    summary hook counts its part), plus the credits service's figures (zeros when it is unset or
    does not answer in time)."""
    counts = summary_sections(user)
    last_login = Session.objects.filter(user=user).aggregate(last=Max("created_at"))["last"]
    projects = [_this_service(counts)]
    return {
        "user": user,
        "auth": {
            "sessionsCount": counts["sessions"],
            "accountsCount": 1 if user.has_usable_password() else 0,
            "has2FA": user.two_factor_enabled,
            "lastLoginAt": last_login,
            "feedbackShowRealName": user.feedback_show_real_name,
            "feedbackKarma": FEEDBACK_KARMA,
        },
        "credits": credits_balance(user.id) or NO_CREDITS,
        "projects": projects,
        "totals": {
            "totalEntities": sum(project["totalCount"] for project in projects),
            "projectsWithData": sum(1 for project in projects if project["totalCount"]),
        },
    }


def data_export(*, user: User) -> dict[str, Any]:
    """Everything held about the person, from every app's exporter; no secrets."""
    return {"exportedAt": timezone.now(), "exportVersion": EXPORT_VERSION, **export_sections(user)}
