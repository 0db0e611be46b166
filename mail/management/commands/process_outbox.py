from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mail.services import process_outbox


class Command(BaseCommand):
    help = "Deliver due mail and sibling-service calls from the outbox (failures are retried with exponential backoff)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100, help="messages, and calls, to try at most")

    def handle(self, *args: Any, **options: Any) -> None:
        run = process_outbox(limit=options["limit"])
        self.stdout.write(f"Delivered {run.mail_delivered} message(s); {run.mail_failing} still failing.")
        self.stdout.write(f"Sent {run.calls_delivered} service call(s); {run.calls_failing} still failing.")
