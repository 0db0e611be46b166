from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Session, User
from core.models import SecurityEvent

SECURITY_EVENTS_SHOWN = 50


def sessions_active(*, actor: User) -> QuerySet[Session]:
    return Session.objects.filter(user=actor, revoked_at__isnull=True, expires_at__gt=timezone.now()).order_by("-last_seen_at")


def security_events_recent(*, actor: User) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.filter(user=actor).order_by("-created_at", "-id")[:SECURITY_EVENTS_SHOWN]
