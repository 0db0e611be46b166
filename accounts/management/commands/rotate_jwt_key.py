from typing import Any

from django.core.management.base import BaseCommand

from accounts.jwt import PUBLISH_AFTER_RETIREMENT, signing_key_rotate


class Command(BaseCommand):
    help = "Make a new active JWT signing key; the old public key stays in the JWKS until its tokens expire."

    def handle(self, *args: Any, **options: Any) -> None:
        key = signing_key_rotate()
        minutes = int(PUBLISH_AFTER_RETIREMENT.total_seconds() // 60)
        self.stdout.write(f"New signing key {key.kid} is active; the previous key stays published for {minutes} minutes.")
