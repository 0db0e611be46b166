from datetime import UTC, datetime, timedelta

from django.db.models import F, Q, QuerySet

from core import clock
from personas.models import Persona, TickCadence

HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)
FRIDAY = 4


def server_time() -> datetime:
    return datetime.fromtimestamp(clock.timestamp(), UTC)


def personas_list() -> QuerySet[Persona]:
    return Persona.objects.select_related("user").order_by("created_at", "user_id")


def personas_due(*, now: datetime) -> QuerySet[Persona]:
    """Whom the runner should tick now: never active, or idle longer than the cadence allows
    (weekday personas only Monday to Friday, UTC). Longest idle first, the never active before all."""
    due = Q(last_active_at__isnull=True) | Q(tick_cadence=TickCadence.HOURLY, last_active_at__lt=now - HOUR)
    due |= Q(tick_cadence=TickCadence.DAILY, last_active_at__lt=now - DAY)
    if now.astimezone(UTC).weekday() <= FRIDAY:
        due |= Q(tick_cadence=TickCadence.WEEKDAYS, last_active_at__lt=now - DAY)
    return (
        Persona.objects.filter(due, user__is_active=True, user__deleted_at__isnull=True)
        .select_related("user")
        .order_by(F("last_active_at").asc(nulls_first=True), "created_at", "user_id")
    )
