"""Passkeys and encryption vaults. A vault's master key never changes: the old wrap (AES-GCM
under the same KEK, no associated data) is opened and wrapped again in our format, bound to the
user; a zero-knowledge vault has no server wrap and keeps its recovery wrap byte for byte."""

import base64
import binascii
import dataclasses
from typing import Any

from core.keyring import KeyringError, Wrapped, get_keyring
from passkeys.models import Passkey
from takeover.context import Context
from takeover.report import TableReport
from takeover.source import Row
from takeover.steps_accounts import ip_or_none
from vault.models import VaultAudit
from vault.services import VaultImport, vault_import

DEVICE_TYPES = {"singleDevice": Passkey.DeviceType.SINGLE_DEVICE, "multiDevice": Passkey.DeviceType.MULTI_DEVICE}
VAULT_COLUMNS = (
    "user_id, wrapped_mk, wrap_iv, format_version, kek_id, recovery_wrapped_mk, recovery_iv, recovery_format_version,"
    " recovery_set_at, zero_knowledge, created_at, rotated_at"
)


class OldWrapError(Exception):
    """An old server wrap that no configured KEK opens."""


def passkeys_import(ctx: Context) -> None:
    """Same credential id and counter; `handle_unknown`, since the old library never stored the
    user handle it made, so sign-in finds these by credential id alone."""

    def handle(report: TableReport, rows: list[Row]) -> None:
        here = set(Passkey.objects.filter(credential_id__in=[row["credential_id"] for row in rows]).values_list("credential_id", flat=True))
        for row in rows:
            if problem := ctx.user_problem(row["user_id"]):
                report.skip(row["id"], problem)
                continue
            if row["credential_id"] in here:
                report.unchanged += 1
                continue
            try:
                public_key = base64.b64decode(row["public_key"], validate=True)
            except (binascii.Error, ValueError, TypeError):
                report.skip(row["id"], "its public key is not base64")
                continue
            Passkey.objects.create(
                id=row["id"],
                user_id=row["user_id"],
                credential_id=row["credential_id"],
                public_key=public_key,
                sign_count=row["counter"] or 0,
                device_type=DEVICE_TYPES.get(row["device_type"], Passkey.DeviceType.SINGLE_DEVICE),
                backed_up=bool(row["backed_up"]),
                transports=[transport.strip() for transport in (row["transports"] or "").split(",") if transport.strip()],
                name=(row["name"] or "Passkey")[:64],
                aaguid=(row["aaguid"] or "")[:36],
                created_at=row["created_at"],
                handle_unknown=True,
            )
            report.imported += 1

    ctx.each_batch(
        "passkeys",
        "SELECT id, user_id, credential_id, public_key, counter, device_type, backed_up, transports, name, aaguid, created_at"
        " FROM auth.passkeys ORDER BY created_at, id",
        handle,
    )


def old_master_key(wrapped_mk: str, wrap_iv: str) -> bytes:
    """Open an old server wrap with whichever configured KEK made it (the active one first)."""
    try:
        ciphertext, iv = base64.b64decode(wrapped_mk, validate=True), base64.b64decode(wrap_iv, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OldWrapError("not base64") from exc
    keyring = get_keyring()
    for kek_id in [keyring.active_id, *sorted(keyring.kek_ids - {keyring.active_id})]:
        try:
            return keyring.unwrap(Wrapped(kek_id=kek_id, iv=iv, ciphertext=ciphertext))
        except KeyringError:
            continue
    raise OldWrapError("no configured KEK opens it")


def _bytes_or_none(value: str | None) -> bytes | None:
    return base64.b64decode(value, validate=True) if value else None


def _history(rows: list[Row], report: TableReport) -> list[dict[str, Any]]:
    entries = []
    for row in rows:
        if row["action"] not in VaultAudit.Action.values:
            report.skip(row["id"], f"unknown vault action {row['action']!r}")
            continue
        entries.append(
            {
                "action": row["action"],
                "ip_address": ip_or_none(row["ip_address"]),
                "user_agent": (row["user_agent"] or "")[:512],
                "context": row["context"] if isinstance(row["context"], dict) else {},
                "status": row["status"],
                "created_at": row["created_at"],
            }
        )
    return entries


def _vault_of(row: Row) -> VaultImport:
    server_wrapped = not row["zero_knowledge"] and row["wrapped_mk"]
    return VaultImport(
        master_key=old_master_key(row["wrapped_mk"], row["wrap_iv"]) if server_wrapped else None,
        recovery_wrapped_mk=_bytes_or_none(row["recovery_wrapped_mk"]),
        recovery_iv=_bytes_or_none(row["recovery_iv"]),
        recovery_format_version=row["recovery_format_version"] if row["recovery_wrapped_mk"] else None,
        recovery_set_at=row["recovery_set_at"],
        zero_knowledge=bool(row["zero_knowledge"]),
        created_at=row["created_at"],
        rotated_at=row["rotated_at"],
        history=[],
    )


def vaults_import(ctx: Context) -> None:
    """One user at a time: the source shows a vault row only to a transaction that names its
    user (row-level security), and ours writes it acting as that user. The audit history comes
    with the vault it belongs to."""
    vaults, audit = ctx.report.table("encryption_vaults"), ctx.report.table("encryption_vault_audit")
    users = [user_id for user_id, state in ctx.users.items() if state is not None]
    for done, user_id in enumerate(users, start=1):
        rows = ctx.source.fetch_as_user(user_id, f"SELECT {VAULT_COLUMNS} FROM auth.encryption_vaults WHERE user_id = %s")  # noqa: S608 - constant columns
        history = ctx.source.fetch_as_user(
            user_id,
            "SELECT id, action, ip_address, user_agent, context, status, created_at"
            " FROM auth.encryption_vault_audit WHERE user_id = %s ORDER BY created_at, id",
        )
        vaults.read += len(rows)
        audit.read += len(history)
        if done % ctx.batch_size == 0:
            ctx.progress(f"  encryption_vaults: {done} of {len(users)} users")
        if not rows:
            if history:
                audit.skip_in_bulk("no vault to belong to", len(history))
            continue
        if ctx.users[user_id] is False:
            vaults.skip(user_id, "its user is deleted")
            audit.skip_in_bulk("its user is deleted", len(history))
            continue
        try:
            imported = _vault_of(rows[0])
        except (OldWrapError, binascii.Error, ValueError) as exc:
            vaults.skip(user_id, f"the vault cannot be opened: {exc}")
            audit.skip_in_bulk("its vault was not imported", len(history))
            continue
        entries = _history(history, audit)
        if vault_import(user_id=user_id, imported=dataclasses.replace(imported, history=entries)):
            vaults.imported += 1
            audit.imported += len(entries)
        else:
            vaults.unchanged += 1
            audit.unchanged += len(entries)
