"""The operator's path into the vault (admin): metadata and audit, acting as the one user being
inspected, so row-level security still applies; the key columns are never selected."""

from typing import Any

from core.rls import acting_as
from vault.models import Vault, VaultAudit

METADATA_FIELDS = ("user_id", "format_version", "kek_id", "recovery_set_at", "zero_knowledge", "created_at", "rotated_at")


def vault_metadata(*, user_id: str) -> dict[str, Any] | None:
    with acting_as(user_id):
        row = Vault.objects.filter(user_id=user_id).values(*METADATA_FIELDS).first()
    return dict(row) if row is not None else None


def vault_audit_trail(*, user_id: str, limit: int = 20) -> list[dict[str, Any]]:
    with acting_as(user_id):
        rows = (
            VaultAudit.objects.filter(user_id=user_id).order_by("-created_at", "-id").values("created_at", "action", "status", "ip_address")
        )
        return [dict(row) for row in rows[:limit]]
