from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import Session, User
from core.models import SecurityEvent


def admin_stats(*, now: datetime | None = None) -> dict[str, Any]:
    """Counted from the records themselves, not estimated (PLATFORM.md §6 names the fields)."""
    moment = now or timezone.now()
    week, month, day = moment - timedelta(days=7), moment - timedelta(days=30), moment - timedelta(days=1)
    return {
        "totalUsers": User.objects.count(),
        "newUsers7d": User.objects.filter(created_at__gt=week).count(),
        "newUsers30d": User.objects.filter(created_at__gt=month).count(),
        "activeSessions": Session.objects.active().filter(expires_at__gt=moment).count(),
        "uniqueUsers24h": Session.objects.filter(last_seen_at__gt=day).values("user_id").distinct().count(),
        "loginSuccess7d": SecurityEvent.objects.filter(type="LOGIN_SUCCESS", created_at__gt=week).count(),
        "loginFailed7d": SecurityEvent.objects.filter(type="LOGIN_FAILURE", created_at__gt=week).count(),
        "generatedAt": moment,
    }


def users_page(*, search: str, page: int, limit: int) -> tuple[list[User], int]:
    # Last active: the newest activity of any of the user's sessions.
    users = User.objects.annotate(last_active_at=Max("sessions__last_seen_at")).order_by("-created_at", "pk")
    if search:
        users = users.filter(Q(email__icontains=search) | Q(name__icontains=search))
    total = users.count()
    return list(users[(page - 1) * limit : page * limit]), total
