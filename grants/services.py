"""Mission grants: a user lets the AI service decrypt exactly the records of one mission, for a
limited time. The server derives the Mission Data Key from the vault's master key and wraps it
for the AI service; it keeps a registry row, never the key."""

import base64
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.compiled import row_insert
from core.errors import ApiError, ErrorCode
from core.origin import Origin
from core.rls import acting_as
from core.services import security_event_logged, security_event_record, security_event_write
from grants import crypto
from grants.models import DecryptAudit, DecryptAuditBatch, Grant
from vault.services import master_key_delegate

TTL_DEFAULT = timedelta(days=7)
TTL_MIN = timedelta(hours=1)
TTL_MAX = timedelta(days=30)


@functools.cache
def _public_key_for(pem: str) -> rsa.RSAPublicKey:
    return crypto.load_public_key(pem)


def ai_public_key() -> rsa.RSAPublicKey | None:
    pem = settings.MANA_AI_PUBLIC_KEY_PEM
    return _public_key_for(pem) if pem else None


def ttl_clamped(ttl_ms: int | None) -> timedelta:
    if ttl_ms is None:
        return TTL_DEFAULT
    return min(max(timedelta(milliseconds=ttl_ms), TTL_MIN), TTL_MAX)


@dataclass(frozen=True)
class IssuedGrant:
    grant: Grant
    wrapped_key: str
    tables: list[str]
    record_ids: list[str]


def grant_issue(
    *, actor: User, mission_id: str, tables: list[str], record_ids: list[str], ttl_ms: int | None, origin: Origin
) -> IssuedGrant:
    public_key = ai_public_key()
    if public_key is None:
        raise ApiError(ErrorCode.GRANT_NOT_CONFIGURED)  # before anything is read from the vault
    grant = Grant(user=actor, mission_id=mission_id, tables=tables, record_count=len(record_ids))
    grant.expires_at = grant.issued_at + ttl_clamped(ttl_ms)
    # The grant and its event go with the fetch's audit row and the vault's read: one statement.
    event = security_event_write(
        type="GRANT_ISSUED", user_id=actor.id, origin=origin, metadata={"grantId": grant.id, "missionId": mission_id}
    )

    def issue(master_key: bytes) -> IssuedGrant:
        mission_key = crypto.derive_mission_key(master_key=master_key, mission_id=mission_id, tables=tables, record_ids=record_ids)
        wrapped = base64.b64encode(crypto.wrap_for_ai(public_key, mission_key)).decode()
        return IssuedGrant(grant=grant, wrapped_key=wrapped, tables=tables, record_ids=record_ids)

    context = {"purpose": "mission_grant", "grantId": grant.id, "missionId": mission_id}
    issued = master_key_delegate(actor=actor, origin=origin, context=context, along=[row_insert(grant), event], use=issue)
    security_event_logged(type="GRANT_ISSUED", user_id=actor.id)
    return issued


def grant_revoke(*, actor: User, grant_id: str, origin: Origin) -> Grant:
    with transaction.atomic():
        grant, revoked = Grant.objects.lock_and_revoke(pk=grant_id, user=actor)
        if grant is None:
            raise ApiError(ErrorCode.NOT_FOUND)
        if revoked:
            security_event_record(type="GRANT_REVOKED", user_id=actor.id, origin=origin, metadata={"grantId": grant.id})
    return grant


def grant_state(*, grant_id: str, now: datetime | None = None) -> dict[str, Any]:
    """For the AI service: is the grant still good?"""
    grant = Grant.objects.filter(pk=grant_id).first()
    if grant is None:
        raise ApiError(ErrorCode.NOT_FOUND)
    moment = now or timezone.now()
    return {"active": grant.revoked_at is None and grant.expires_at > moment, "expiresAt": grant.expires_at, "revokedAt": grant.revoked_at}


def decrypt_audit_write(*, user_id: str, mission_id: str, iteration_id: str, entries: list[dict[str, str]], batch_id: str | None) -> int:
    """Append the AI service's decrypt audit for one user. With a batch id, a retry of the same
    batch writes nothing (the batch row is taken once, in the same transaction)."""
    if not User.objects.filter(pk=user_id).exists():
        raise ApiError(ErrorCode.NOT_FOUND)
    try:
        with acting_as(user_id):
            if batch_id is not None:
                DecryptAuditBatch.objects.create(user_id=user_id, batch_id=batch_id, written=len(entries))
            DecryptAudit.objects.bulk_create(
                DecryptAudit(
                    user_id=user_id,
                    mission_id=mission_id,
                    iteration_id=iteration_id,
                    table_name=entry["tableName"],
                    record_id=entry["recordId"],
                    status=entry["status"],
                    reason=entry.get("reason") or "",
                )
                for entry in entries
            )
    except IntegrityError:
        if batch_id is not None and DecryptAuditBatch.objects.filter(user_id=user_id, batch_id=batch_id).exists():
            return 0
        raise
    return len(entries)
