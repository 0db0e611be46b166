from typing import Any

from core.personal_data import exporter
from mail.models import OutboxMessage


@exporter("mail", OutboxMessage)
def mail(user: Any) -> list[Any]:
    return list(
        OutboxMessage.objects.filter(user=user)
        .order_by("created_at")
        .values("recipient", "subject", "template", "status", "created_at", "sent_at")
    )
