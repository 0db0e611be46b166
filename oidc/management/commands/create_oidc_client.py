import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from oidc.services import client_create


class Command(BaseCommand):
    help = (
        'Register an OpenID Connect client ("Sign in with Mana"). Prints {"client_id", "client_secret"} as JSON; '
        "the secret is shown only this once and stored hashed. A --public client has none and must use PKCE."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris", help="exact callback URI; repeatable")
        parser.add_argument("--post-logout-redirect-uri", action="append", default=[], dest="post_logout_redirect_uris", help="repeatable")
        parser.add_argument("--public", action="store_true", help="a client that cannot keep a secret (a browser or native app)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = client_create(
                name=options["name"],
                redirect_uris=options["redirect_uris"],
                post_logout_redirect_uris=options["post_logout_redirect_uris"],
                public=options["public"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())) from exc
        output: dict[str, str] = {"client_id": created.client_id}
        if created.client_secret is not None:
            output["client_secret"] = created.client_secret
        self.stdout.write(json.dumps(output))
