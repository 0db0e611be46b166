from django.db.models import QuerySet

from accounts.models import User
from core.rls import acting_as
from grants.models import DecryptAudit, Grant


def grants_of(*, actor: User) -> QuerySet[Grant]:
    return Grant.objects.filter(user=actor).order_by("-issued_at")


def decrypt_audit_of(*, actor: User, mission_id: str | None, limit: int) -> list[DecryptAudit]:
    with acting_as(actor.id):
        entries = DecryptAudit.objects.filter(user=actor)
        if mission_id:
            entries = entries.filter(mission_id=mission_id)
        return list(entries.order_by("-created_at", "-id")[:limit])
