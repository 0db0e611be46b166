from typing import Any

from core.personal_data import exporter, on_user_created
from mail.models import OutboxMessage, ServiceCall
from mail.services import service_call_enqueue


@exporter("mail", OutboxMessage)
def mail(user: Any) -> list[Any]:
    return list(
        OutboxMessage.objects.filter(user=user)
        .order_by("created_at")
        .values("recipient", "subject", "template", "status", "created_at", "sent_at")
    )


@exporter("serviceCalls", ServiceCall)
def service_calls(user: Any) -> list[Any]:
    return list(
        ServiceCall.objects.filter(user=user)
        .order_by("created_at")
        .values("target", "method", "path", "payload", "status", "created_at", "sent_at")
    )


@on_user_created
def tell_sibling_services(user: Any) -> None:
    """PLATFORM.md §10: credits opens an account and redeems gifts waiting for the address, mail
    welcomes the user. Queued in the registration's transaction, sent after it commits."""
    credits, mail = ServiceCall.Target.CREDITS, ServiceCall.Target.MAIL
    calls = (
        (credits, "/api/v1/internal/credits/init", {"userId": user.id}),
        (credits, "/api/v1/internal/gifts/redeem-pending", {"userId": user.id, "email": user.email}),
        (mail, "/api/v1/internal/mail/on-user-created", {"userId": user.id, "email": user.email, "name": user.name}),
    )
    for target, path, payload in calls:
        service_call_enqueue(target=target, method="POST", path=path, payload=payload, user_id=user.pk)
