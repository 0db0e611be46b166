from typing import Any

from accounts.models import User
from core.personal_data import exporter, summary
from passkeys.models import Passkey


@exporter("passkeys", Passkey)
def passkeys(user: User) -> list[Any]:
    """Public metadata only: the public key is of no use to anyone and stays out."""
    return list(
        Passkey.objects.filter(user=user)
        .order_by("created_at")
        .values("id", "name", "created_at", "last_used_at", "device_type", "backed_up", "transports", "aaguid")
    )


@summary
def counts(user: User) -> dict[str, Any]:
    return {"passkeys": Passkey.objects.filter(user=user).count()}
