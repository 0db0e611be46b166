from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from core.services import security_events_purge


class Command(BaseCommand):
    help = "Delete anonymised security events (erased accounts, unknown addresses) older than SECURITY_EVENT_RETENTION_DAYS."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = security_events_purge()
        self.stdout.write(f"Deleted {deleted} anonymised security events older than {settings.SECURITY_EVENT_RETENTION_DAYS} days.")
