"""The import, in order: what a row points at comes before it. Both secrets are checked before
anything is written; a dry run does everything in one transaction and rolls it back."""

import contextlib
from collections.abc import Callable

from django.db import transaction

from takeover import steps_accounts, steps_credentials, steps_spaces
from takeover.context import Context
from takeover.envelope import Envelope, EnvelopeError
from takeover.report import Report
from takeover.source import Source
from takeover.steps_credentials import VAULT_COLUMNS, OldWrapError, old_master_key

# How many users' rows are tried for a vault to test the KEK against before the import starts.
KEK_CHECK_USERS = 1000

STEPS: list[Callable[[Context], None]] = [
    steps_accounts.signing_keys_import,
    steps_accounts.users_import,
    steps_accounts.passwords_import,
    steps_accounts.settings_import,
    steps_accounts.two_factor_import_all,
    steps_accounts.sessions_import,
    steps_credentials.passkeys_import,
    steps_credentials.vaults_import,
    steps_spaces.spaces_import,
    steps_spaces.members_import,
    steps_spaces.personal_spaces_complete,
    steps_spaces.invitations_import,
    steps_spaces.api_keys_import,
    steps_spaces.personas_import,
    steps_accounts.security_events_import,
    lambda ctx: steps_accounts.history_dropped(ctx, "verification", "transient (mailed links, challenges): users ask again"),
    lambda ctx: steps_accounts.history_dropped(ctx, "login_attempts", "sign-in attempt history is not kept"),
]


class SecretMismatchError(Exception):
    """The Better Auth secret does not open the old service's sealed values."""


class KekMismatchError(Exception):
    """No configured KEK opens the old service's vault wraps."""


def _sealed_sample(source: Source, envelope: Envelope) -> Callable[[], object] | None:
    if source.has_table("two_factor_auth") and (rows := source.fetch("SELECT secret FROM auth.two_factor_auth LIMIT 1")):
        return lambda: envelope.open(rows[0]["secret"])
    if source.has_table("jwks") and (rows := source.fetch("SELECT private_key FROM auth.jwks LIMIT 1")):
        return lambda: envelope.open_quoted_json(rows[0]["private_key"])
    return None


def secrets_check(source: Source, envelope: Envelope) -> None:
    if (open_sample := _sealed_sample(source, envelope)) is not None:
        try:
            open_sample()
        except EnvelopeError as exc:
            raise SecretMismatchError from exc
    users = source.fetch("SELECT id FROM auth.users ORDER BY created_at, id LIMIT %s", [KEK_CHECK_USERS])
    for user in users:
        rows = source.fetch_as_user(user["id"], f"SELECT {VAULT_COLUMNS} FROM auth.encryption_vaults WHERE user_id = %s")  # noqa: S608 - constant columns
        if rows and rows[0]["wrapped_mk"] and not rows[0]["zero_knowledge"]:
            try:
                old_master_key(rows[0]["wrapped_mk"], rows[0]["wrap_iv"])
            except OldWrapError as exc:
                raise KekMismatchError from exc
            return


def takeover_run(*, source: Source, secret: str, dry_run: bool, progress: Callable[[str], None]) -> Report:
    envelope = Envelope(secret)
    secrets_check(source, envelope)
    context = Context(source=source, envelope=envelope, report=Report(dry_run=dry_run), progress=progress)
    with transaction.atomic() if dry_run else contextlib.nullcontext():
        for step in STEPS:
            step(context)
        if dry_run:
            transaction.set_rollback(True)
    return context.report
