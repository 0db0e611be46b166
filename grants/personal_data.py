from typing import Any

from accounts.models import User
from core.personal_data import exporter, summary
from core.rls import acting_as
from grants.models import DecryptAudit, DecryptAuditBatch, Grant


@exporter("missionGrants", Grant)
def grants(user: User) -> list[Any]:
    return list(
        Grant.objects.filter(user=user)
        .order_by("issued_at")
        .values("id", "mission_id", "tables", "record_count", "issued_at", "expires_at", "revoked_at")
    )


@exporter("decryptAudit", DecryptAudit, DecryptAuditBatch)
def decrypt_audit(user: User) -> list[Any]:
    with acting_as(user.id):
        return list(
            DecryptAudit.objects.filter(user=user)
            .order_by("created_at")
            .values("mission_id", "iteration_id", "table_name", "record_id", "status", "reason", "created_at")
        )


@summary
def counts(user: User) -> dict[str, Any]:
    return {"grants": Grant.objects.filter(user=user).count()}
