from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import Session, User
from core.models import SecurityEvent


def admin_stats(*, now: datetime | None = None) -> dict[str, int]:
    """Counted from the records themselves, not estimated."""
    moment = now or timezone.now()
    week, month, day = moment - timedelta(days=7), moment - timedelta(days=30), moment - timedelta(days=1)
    return {
        "totalUsers": User.objects.count(),
        "newUsers7d": User.objects.filter(created_at__gt=week).count(),
        "newUsers30d": User.objects.filter(created_at__gt=month).count(),
        "activeSessions": Session.objects.active().filter(expires_at__gt=moment).count(),
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
