from typing import Any

from accounts.models import User
from core.personal_data import exporter, summary
from core.rls import acting_as
from vault.models import Vault, VaultAudit
from vault.selectors import vault_metadata


@exporter("vault", Vault, VaultAudit)
def vault(user: User) -> dict[str, Any]:
    """Metadata and audit: the master key itself is fetched from /key, never exported."""
    with acting_as(user.id):
        audit = list(
            VaultAudit.objects.filter(user=user)
            .order_by("created_at")
            .values("created_at", "action", "status", "ip_address", "user_agent", "context")
        )
    return {"metadata": vault_metadata(user_id=user.id), "audit": audit}


@summary
def counts(user: User) -> dict[str, int]:
    return {"vault": int(vault_metadata(user_id=user.id) is not None)}
