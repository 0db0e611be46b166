"""`manage.py import_ts_service --source URL --better-auth-secret-file FILE [--dry-run]`: moves the
old identity service's users and data in (MIGRATION.md; README "Switching from the old service")."""

from pathlib import Path
from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandError, CommandParser

from takeover.run import KekMismatchError, SecretMismatchError, takeover_run
from takeover.source import Source, SourceError


class Command(BaseCommand):
    help = "Import the old identity service's database (read only). Idempotent; --dry-run writes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", required=True, help="the old service's PostgreSQL URL (only read)")
        parser.add_argument("--better-auth-secret-file", required=True, help="a file holding the old service's BETTER_AUTH_SECRET")
        parser.add_argument("--dry-run", action="store_true", help="do everything, then roll it back")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            secret = Path(options["better_auth_secret_file"]).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read --better-auth-secret-file: {type(exc).__name__}") from exc
        if not secret:
            raise CommandError("--better-auth-secret-file is empty")
        try:
            source = Source(options["source"])
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        try:
            report = takeover_run(source=source, secret=secret, dry_run=options["dry_run"], progress=self.stderr.write)
        except SecretMismatchError as exc:
            raise CommandError(
                "The Better Auth secret (--better-auth-secret-file) does not open the old service's sealed values; nothing was written."
            ) from exc
        except KekMismatchError as exc:
            raise CommandError(
                "No configured KEK (MANA_AUTH_KEK, MANA_AUTH_OLD_KEKS) opens the old service's vaults: configure the old service's KEK;"
                " nothing was written."
            ) from exc
        except psycopg.Error as exc:
            raise CommandError(f"reading the source failed: {type(exc).__name__}") from exc
        finally:
            source.close()
        report.write(self.stdout.write)
