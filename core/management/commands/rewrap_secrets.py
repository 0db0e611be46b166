from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.keyring import get_keyring
from core.rewrap import rewrappers


class Command(BaseCommand):
    help = (
        "Re-wrap every KEK-wrapped secret (vault master keys, JWT signing keys, TOTP secrets, undelivered mail) under the active KEK. "
        "Idempotent and resumable: what the active KEK already wraps is left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Re-wrapping under KEK {get_keyring().active_id!r}")
        counts = [function(batch_size=options["batch_size"], report=self.stdout.write).describe(label) for label, function in rewrappers()]
        self.stdout.write(f"Done: {', '.join(counts)} re-wrapped.")
