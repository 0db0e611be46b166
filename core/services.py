import logging
from typing import Any

from django.http import HttpRequest

from core.models import SecurityEvent
from core.requests import client_ip, user_agent

logger = logging.getLogger("mana_auth.security")


def security_event_record(
    *,
    type: str,
    user_id: str | None = None,
    request: HttpRequest | None = None,
    metadata: dict[str, Any] | None = None,
) -> SecurityEvent:
    """Append one security event. Callers that audit a failure call this after their own
    transaction has rolled back, so the row survives it (DESIGN.md rule 5)."""
    event = SecurityEvent.objects.create(
        type=type,
        user_id=user_id,
        ip_address=client_ip(request) if request is not None else None,
        user_agent=user_agent(request) if request is not None else "",
        metadata=metadata or {},
    )
    # The log line names the event and the user id only; metadata stays in the database.
    logger.info("security event %s user=%s", type, user_id or "-")
    return event
