"""The encryption vault. Every call acts as the user (`acting_as`, or statements that act as the
user: `_fetch_audited`), so PostgreSQL's row-level security admits that user's rows only, and
leaves an audit row, failures included: a failed action's audit is written after its own
transaction has rolled back, or, for a fetch, instead of the success's (DESIGN.md rule 5)."""

import base64
import binascii
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services.profile import identity_confirm
from core.compiled import CompiledQuery, Write, field_names, instances, row_insert, row_insert_acting, write_all
from core.errors import ApiError, ErrorCode, classify
from core.keyring import get_keyring
from core.origin import Origin
from core.rewrap import RewrapCount, rewrapper
from core.rls import acting_as
from vault import crypto
from vault.models import Vault, VaultAudit

RECOVERY_CIPHERTEXT_BYTES = crypto.MASTER_KEY_BYTES + 16  # AES-GCM: key + tag


def _audit_row(user_id: str, action: str, origin: Origin, status: int, context: dict[str, Any] | None) -> VaultAudit:
    return VaultAudit(
        user_id=user_id, action=action, ip_address=origin.ip, user_agent=origin.user_agent, context=context or {}, status=status
    )


def _failure_audited(user_id: str, origin: Origin, action: str, context: dict[str, Any] | None, exc: Exception) -> None:
    """The failed act wrote nothing: its audit row alone, one statement acting as the user."""
    error = classify(exc)
    audit = _audit_row(user_id, action, origin, error.status, (context or {}) | {"error": error.code.name})
    write_all(row_insert_acting(audit), acting_as=user_id)


def audited[T](user_id: str, origin: Origin, action: str, work: Callable[[Sequence[Write]], T]) -> T:
    """Run `work` acting as the user; audit success inside its transaction and failure after
    the rollback, with the status the caller will see. `work` is handed the success's audit row
    and sends it: with its read of the vault (one statement on PostgreSQL), or after its own work
    (`_written_after`)."""
    try:
        with acting_as(user_id):
            return work([row_insert(_audit_row(user_id, action, origin, 200, None))])
    except Exception as exc:
        _failure_audited(user_id, origin, action, None, exc)
        raise


def _fetch_audited[T](
    user_id: str, origin: Origin, work: Callable[[], T], *, context: dict[str, Any] | None = None, along: Sequence[Write] = ()
) -> T:
    """A key fetch, by itself or for a delegation: `work` reads the vault (`_vault_of(alone=True)`: one
    statement, no transaction) and makes the answer from it; only then the fetch's audit row and
    `along` are written, in one statement that acts as the user. Two round trips where a
    transaction needed four. A failed fetch writes its failure's audit only."""
    try:
        answer = work()
        write_all(*along, row_insert_acting(_audit_row(user_id, VaultAudit.Action.FETCH, origin, 200, context)), acting_as=user_id)
    except Exception as exc:
        _failure_audited(user_id, origin, VaultAudit.Action.FAILED_FETCH, context, exc)
        raise
    return answer


def _written_after[T](work: Callable[[], T]) -> Callable[[Sequence[Write]], T]:
    """For `audited`: a `work` that reads no vault first sends the audit's writes once it is done."""

    def run(writes: Sequence[Write]) -> T:
        result = work()
        write_all(*writes)
        return result

    return run


@dataclass(frozen=True)
class KeyAnswer:
    """What /init, /key and /rotate answer: the key in server mode, the recovery wrap in ZK mode."""

    body: dict[str, Any]


def _b64(raw: bytes | memoryview | None) -> str:
    return base64.b64encode(bytes(raw or b"")).decode()


def _answer(vault: Vault) -> KeyAnswer:
    if vault.zero_knowledge:
        return KeyAnswer(
            {
                "requiresRecoveryCode": True,
                "recoveryWrappedMk": _b64(vault.recovery_wrapped_mk),
                "recoveryIv": _b64(vault.recovery_iv),
                "formatVersion": vault.recovery_format_version or crypto.FORMAT_VERSION,
            }
        )
    wrapped = vault.server_wrap()
    if wrapped is None:
        raise ApiError(ErrorCode.SERVICE_UNAVAILABLE)  # the CHECK constraints make this unreachable
    master_key = crypto.unwrap_master_key(wrapped, user_id=vault.user_id, format_version=vault.format_version)
    return KeyAnswer({"masterKey": _b64(master_key), "formatVersion": vault.format_version, "kekId": vault.kek_id})


def _set_server_wrap(vault: Vault, master_key: bytes) -> None:
    wrapped = crypto.wrap_master_key(master_key, user_id=vault.user_id)
    vault.wrapped_mk, vault.mk_iv, vault.kek_id = wrapped.ciphertext, wrapped.iv, wrapped.kek_id
    vault.format_version = crypto.FORMAT_VERSION


# Every key fetch and mission grant reads the vault (core/compiled.py).
_VAULT_OF = CompiledQuery(lambda user: Vault.objects.filter(user_id=user).values_list(*field_names(Vault)), "user")


def _vault_of(actor: User, along: Sequence[Write] = (), *, alone: bool = False) -> Vault | None:
    """The actor's vault, read with `along` (the audit's writes) in one statement, or `alone`: by
    a statement that acts as the actor itself, outside `acting_as` (core/compiled.py)."""
    row = _VAULT_OF.first(along, acting_as=actor.id if alone else None, user=actor.id)
    return instances(row, Vault)[0] if row else None


def _locked_vault(actor: User) -> Vault | None:
    return Vault.objects.select_for_update().filter(user=actor).first()


def _require_vault(actor: User) -> Vault:
    vault = _locked_vault(actor)
    if vault is None:
        raise ApiError(ErrorCode.VAULT_NOT_INITIALISED)
    return vault


def _create(actor: User) -> Vault:
    vault = Vault(user=actor)
    _set_server_wrap(vault, crypto.new_master_key())
    vault.save(force_insert=True)
    return vault


# --- reads --------------------------------------------------------------------------------------
def vault_status(*, actor: User) -> dict[str, Any]:
    with acting_as(actor.id):
        vault = Vault.objects.filter(user=actor).only("zero_knowledge", "recovery_set_at", "recovery_wrapped_mk").first()
        return {
            "vaultExists": vault is not None,
            "hasRecoveryWrap": vault is not None and vault.recovery_wrapped_mk is not None,
            "zeroKnowledge": bool(vault and vault.zero_knowledge),
            "recoverySetAt": vault.recovery_set_at if vault else None,
        }


def vault_key_fetch(*, actor: User, origin: Origin) -> KeyAnswer:
    def work() -> KeyAnswer:
        vault = _vault_of(actor, alone=True)
        if vault is None:
            raise ApiError(ErrorCode.VAULT_NOT_INITIALISED)
        return _answer(vault)

    return _fetch_audited(actor.id, origin, work)


def master_key_delegate[T](*, actor: User, origin: Origin, context: dict[str, Any], along: Sequence[Write], use: Callable[[bytes], T]) -> T:
    """Hand the raw master key to `use` (deriving a mission key), audited as a fetch. `use` only
    computes; what the act writes is `along` (which must not depend on the key), written with the
    fetch's audit row in one statement once `use` has returned. If the fetch or `use` fails,
    none of it is written and the failure is audited.
    Zero-knowledge vaults have no server wrap, so they cannot delegate (ZK_ACTIVE)."""

    def work() -> T:
        vault = _vault_of(actor, alone=True)
        if vault is None:
            raise ApiError(ErrorCode.VAULT_NOT_INITIALISED)
        wrapped = vault.server_wrap()
        if vault.zero_knowledge or wrapped is None:
            raise ApiError(ErrorCode.ZK_ACTIVE)
        return use(crypto.unwrap_master_key(wrapped, user_id=actor.id, format_version=vault.format_version))

    return _fetch_audited(actor.id, origin, work, context=context, along=along)


# --- writes -------------------------------------------------------------------------------------
def vault_init(*, actor: User, origin: Origin) -> KeyAnswer:
    """Idempotent and race-safe: concurrent first calls create one key and all return it."""

    def work(writes: Sequence[Write]) -> KeyAnswer:
        vault = _vault_of(actor, writes)
        if vault is None:
            try:
                with transaction.atomic():
                    vault = _create(actor)
            except IntegrityError:
                # Another request created it first; its row is committed and ours is not.
                vault = Vault.objects.get(user=actor)
        return _answer(vault)

    return audited(actor.id, origin, VaultAudit.Action.INIT, work)


def vault_rotate(*, actor: User, session_id: str | None, origin: Origin) -> KeyAnswer:
    def work() -> KeyAnswer:
        # A stolen access token alone must not swap the key that everything is encrypted with.
        identity_confirm(actor=actor, password=None, session_id=session_id, origin=origin)
        vault = _locked_vault(actor)
        if vault is None:
            return _answer(_create(actor))
        if vault.zero_knowledge:
            raise ApiError(ErrorCode.ZK_ROTATE_FORBIDDEN)
        _set_server_wrap(vault, crypto.new_master_key())
        # The recovery wrap held the old key: it would now restore the wrong one.
        vault.recovery_wrapped_mk = vault.recovery_iv = vault.recovery_format_version = vault.recovery_set_at = None
        vault.rotated_at = timezone.now()
        vault.save()
        return _answer(vault)

    return audited(actor.id, origin, VaultAudit.Action.ROTATE, _written_after(work))


def _decode(value: str, field: str, length: int) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(ErrorCode.VALIDATION, fields={field: ["Expected base64."]}) from exc
    if len(raw) != length:
        raise ApiError(ErrorCode.VALIDATION, fields={field: [f"Expected {length} bytes."]})
    return raw


def recovery_wrap_set(*, actor: User, wrapped_mk: str, iv: str, origin: Origin) -> None:
    ciphertext = _decode(wrapped_mk, "recoveryWrappedMk", RECOVERY_CIPHERTEXT_BYTES)
    nonce = _decode(iv, "recoveryIv", 12)

    def work() -> None:
        vault = _require_vault(actor)
        vault.recovery_wrapped_mk, vault.recovery_iv = ciphertext, nonce
        vault.recovery_format_version = crypto.FORMAT_VERSION
        vault.recovery_set_at = timezone.now()
        vault.save()

    audited(actor.id, origin, VaultAudit.Action.RECOVERY_SET, _written_after(work))


def recovery_wrap_clear(*, actor: User, origin: Origin) -> None:
    def work() -> None:
        vault = _require_vault(actor)
        if vault.zero_knowledge:
            raise ApiError(ErrorCode.ZK_ACTIVE)
        vault.recovery_wrapped_mk = vault.recovery_iv = vault.recovery_format_version = vault.recovery_set_at = None
        vault.save()

    audited(actor.id, origin, VaultAudit.Action.RECOVERY_CLEAR, _written_after(work))


def zero_knowledge_enable(*, actor: User, origin: Origin) -> None:
    def work() -> None:
        vault = _require_vault(actor)
        if vault.recovery_wrapped_mk is None:
            raise ApiError(ErrorCode.RECOVERY_WRAP_MISSING)
        vault.zero_knowledge = True
        vault.wrapped_mk = vault.mk_iv = vault.kek_id = None  # from now on only the user can unwrap
        vault.save()

    audited(actor.id, origin, VaultAudit.Action.ZK_ENABLE, _written_after(work))


def zero_knowledge_disable(*, actor: User, master_key: str, session_id: str | None, origin: Origin) -> None:
    key = _decode(master_key, "masterKey", crypto.MASTER_KEY_BYTES)

    def work() -> None:
        # Handing the key back to the server is as weighty as rotating it: a recent sign-in, too.
        identity_confirm(actor=actor, password=None, session_id=session_id, origin=origin)
        vault = _require_vault(actor)
        _set_server_wrap(vault, key)
        vault.zero_knowledge = False
        vault.save()

    audited(actor.id, origin, VaultAudit.Action.ZK_DISABLE, _written_after(work))


# --- KEK rotation -------------------------------------------------------------------------------
def _no_report(line: str) -> None:
    return None


@rewrapper("vaults", Vault, order=10)
def vault_rewrap_all(*, batch_size: int = 200, report: Callable[[str], None] = _no_report) -> RewrapCount:
    """Re-wrap every server-wrapped master key under the active KEK, one user at a time (row-level
    security admits nothing else). Keys already under the active KEK are skipped, so a run can be
    interrupted and started again; the master keys themselves never change."""
    keyring = get_keyring()
    examined = rewrapped = 0
    for user_ids in _batches(User.objects.order_by("pk").values_list("pk", flat=True), batch_size):
        for user_id in user_ids:
            with acting_as(user_id):
                vault = Vault.objects.select_for_update().filter(user_id=user_id, wrapped_mk__isnull=False).first()
                if vault is None:
                    continue
                examined += 1
                wrapped = vault.server_wrap()
                if wrapped is None or wrapped.kek_id == keyring.active_id:
                    continue
                master_key = crypto.unwrap_master_key(wrapped, user_id=user_id, format_version=vault.format_version)
                _set_server_wrap(vault, master_key)
                vault.save(update_fields=["wrapped_mk", "mk_iv", "kek_id", "format_version"])
                rewrapped += 1
        report(f"  vaults examined {examined}, re-wrapped {rewrapped}")
    return RewrapCount(rewrapped, examined)


def _batches(ids: Any, size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for user_id in ids.iterator(chunk_size=size):
        batch.append(user_id)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class VaultImport:
    """A vault as another service kept it (the old service): the master key when it had a server
    wrap, the recovery wrap as it was (the server never opens it), and its audit history."""

    master_key: bytes | None
    recovery_wrapped_mk: bytes | None
    recovery_iv: bytes | None
    recovery_format_version: int | None
    recovery_set_at: Any
    zero_knowledge: bool
    created_at: Any
    rotated_at: Any
    history: list[dict[str, Any]]


def vault_import(*, user_id: str, imported: VaultImport) -> bool:
    """The vault wrapped in our format (bound to the user), with its history, in one transaction
    acting as the user; False when the user has one already (nothing is changed then)."""
    with acting_as(user_id):
        if Vault.objects.filter(user_id=user_id).exists():
            return False
        vault = Vault(
            user_id=user_id,
            recovery_wrapped_mk=imported.recovery_wrapped_mk,
            recovery_iv=imported.recovery_iv,
            recovery_format_version=imported.recovery_format_version,
            recovery_set_at=imported.recovery_set_at,
            zero_knowledge=imported.zero_knowledge,
            created_at=imported.created_at,
            rotated_at=imported.rotated_at,
        )
        if imported.master_key is not None:
            _set_server_wrap(vault, imported.master_key)
        vault.save(force_insert=True)
        VaultAudit.objects.bulk_create(VaultAudit(user_id=user_id, **entry) for entry in imported.history)
    return True
