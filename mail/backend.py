"""A Django email backend that hands mail to the platform's notification service."""

import json
import urllib.request
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend


class NotifyEmailBackend(BaseEmailBackend):
    """Raises on any failure: the outbox (mail.services) records it and retries later."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            self._post(message)
        return len(email_messages)

    def _post(self, message: EmailMessage) -> None:
        html = ""
        if isinstance(message, EmailMultiAlternatives):
            html = next((str(content) for content, mimetype in message.alternatives if mimetype == "text/html"), "")
        for recipient in message.to:
            payload = {
                "channel": "email",
                "appId": "mana-auth",
                "recipient": recipient,
                "subject": message.subject,
                "body": html or message.body,
                "text": message.body,
            }
            request = urllib.request.Request(  # noqa: S310 - an operator-configured http(s) URL
                f"{settings.MANA_NOTIFY_URL}/api/v1/notifications/send",
                data=json.dumps(payload).encode(),
                method="POST",
                headers={"Content-Type": "application/json", "X-Service-Key": settings.MANA_SERVICE_KEY},
            )
            with urllib.request.urlopen(request, timeout=settings.MANA_NOTIFY_TIMEOUT) as response:  # noqa: S310
                if not 200 <= response.status < 300:
                    raise ConnectionError(f"notification service answered {response.status}")
