from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import LockoutState, Session, User
from core.exports import export_sections
from core.models import SecurityEvent
from grants.models import Grant
from passkeys.models import Passkey
from spaces.models import ApiKey, Membership
from vault.selectors import vault_metadata

SECURITY_EVENTS_SHOWN = 50


def sessions_active(*, actor: User) -> QuerySet[Session]:
    return Session.objects.filter(user=actor, revoked_at__isnull=True, expires_at__gt=timezone.now()).order_by("-last_seen_at")


def security_events_recent(*, actor: User) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(user=actor).order_by("-created_at", "-id")[:SECURITY_EVENTS_SHOWN]


def locked_now() -> QuerySet[LockoutState]:
    return LockoutState.objects.filter(locked_until__gt=timezone.now()).order_by("-locked_at")


def admin_stats(*, now: datetime | None = None) -> dict[str, int]:
    """Counted from the records themselves, not estimated."""
    moment = now or timezone.now()
    week, month, day = moment - timedelta(days=7), moment - timedelta(days=30), moment - timedelta(days=1)
    return {
        "totalUsers": User.objects.count(),
        "newUsers7d": User.objects.filter(created_at__gt=week).count(),
        "newUsers30d": User.objects.filter(created_at__gt=month).count(),
        "activeSessions": Session.objects.filter(revoked_at__isnull=True, expires_at__gt=moment).count(),
        "uniqueUsers24h": Session.objects.filter(last_seen_at__gt=day).values("user_id").distinct().count(),
        "loginSuccesses7d": SecurityEvent.objects.filter(type="LOGIN_SUCCESS", created_at__gt=week).count(),
        "loginFailures7d": SecurityEvent.objects.filter(type="LOGIN_FAILURE", created_at__gt=week).count(),
    }


def users_page(*, search: str, page: int, limit: int) -> tuple[list[User], int]:
    users = User.objects.order_by("-created_at", "pk")
    if search:
        users = users.filter(Q(email__icontains=search) | Q(name__icontains=search))
    total = users.count()
    return list(users[(page - 1) * limit : page * limit]), total


def data_summary(*, user: User) -> dict[str, Any]:
    """What the service holds about a person, as counts (no secrets, no keys)."""
    vault = vault_metadata(user_id=user.id)
    return {
        "user": user,
        "sessions": Session.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()).count(),
        "passkeys": Passkey.objects.filter(user=user).count(),
        "spaces": Membership.objects.filter(user=user).count(),
        "apiKeys": ApiKey.objects.filter(user=user, revoked_at__isnull=True).count(),
        "securityEvents": SecurityEvent.objects.filter(user=user).count(),
        "grants": Grant.objects.filter(user=user).count(),
        "vault": {
            "exists": vault is not None,
            "zeroKnowledge": bool(vault and vault["zero_knowledge"]),
            "recoverySet": bool(vault and vault["recovery_set_at"]),
        },
    }


EXPORT_VERSION = 1


def data_export(*, user: User) -> dict[str, Any]:
    """Everything held about the person, from every app's exporter; no secrets."""
    return {"exportedAt": timezone.now(), "exportVersion": EXPORT_VERSION, **export_sections(user)}
