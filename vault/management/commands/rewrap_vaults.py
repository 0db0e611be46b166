from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.jwt import signing_keys_rewrap
from accounts.mail import outbox_rewrap
from accounts.services import two_factor_secrets_rewrap
from core.keyring import get_keyring
from vault.services import RewrapProgress, vault_rewrap_all


class Command(BaseCommand):
    help = (
        "Re-wrap every KEK-wrapped secret (vault master keys, JWT signing keys, TOTP secrets, undelivered mail) under the active KEK. "
        "Idempotent and resumable: what the active KEK already wraps is left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args: Any, **options: Any) -> None:
        active = get_keyring().active_id

        def report(progress: RewrapProgress) -> None:
            self.stdout.write(f"  vaults examined {progress.examined}, re-wrapped {progress.rewrapped}")

        self.stdout.write(f"Re-wrapping under KEK {active!r}")
        vaults = vault_rewrap_all(batch_size=options["batch_size"], progress=report)
        keys = signing_keys_rewrap()
        totp_secrets = two_factor_secrets_rewrap()
        mail = outbox_rewrap()
        self.stdout.write(
            f"Done: {vaults.rewrapped} of {vaults.examined} vaults, {keys} JWT signing keys, {totp_secrets} TOTP secrets, "
            f"{mail} outbox messages re-wrapped."
        )
