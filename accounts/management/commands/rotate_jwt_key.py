from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand

from accounts.jwt import PUBLISH_AFTER_RETIREMENT, signing_key_rotate


class Command(BaseCommand):
    help = "Make new active signing keys (EdDSA, and OpenID Connect RS256); the old public keys stay in the JWKS until their tokens expire."

    def handle(self, *args: Any, **options: Any) -> None:
        key = signing_key_rotate()
        minutes = int(PUBLISH_AFTER_RETIREMENT.total_seconds() // 60)
        self.stdout.write(f"New signing key {key.kid} is active; the previous key stays published for {minutes} minutes.")
        # Apps above accounts that sign with keys of their own (the OpenID Connect provider's RS256
        # keys) rotate them here too, offered by their AppConfig: accounts never imports them.
        for app in apps.get_app_configs():
            rotate = getattr(app, "signing_keys_rotate", None)
            if rotate is not None:
                self.stdout.write(rotate())
