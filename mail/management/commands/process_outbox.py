from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mail.services import process_outbox


class Command(BaseCommand):
    help = "Deliver due mail from the outbox (failed sends are retried with exponential backoff)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100, help="messages to try at most")

    def handle(self, *args: Any, **options: Any) -> None:
        delivered, failing = process_outbox(limit=options["limit"])
        self.stdout.write(f"Delivered {delivered} message(s); {failing} still failing.")
