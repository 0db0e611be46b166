"""API keys for the speech services (PLATFORM.md §5): created by a user, optionally bound to a
space the user is a member of, validated by the services that send no credential of their own."""

import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.services.profile import credential_proof
from core import ratelimit
from core.errors import ApiError, ErrorCode
from core.hooks import on_sessions_ended
from core.origin import NO_ORIGIN, Origin
from core.ratelimit import Limit
from core.secrets import token_hash
from core.services import security_event_record
from mail.services import mail_enqueue
from spaces.models import ApiKey
from spaces.services import membership_of

API_KEY_DEFAULT_SCOPES = ("stt", "tts")
API_KEY_LAST_USED_PRECISION = timedelta(minutes=1)
API_KEY_PREFIX = "sk_live_"
API_KEY_DEFAULT_RATE_LIMIT = 60
# Per calling address, for the unauthenticated validate route. The speech services validate every
# user's key from one address, so this is far above one key's limit: it only stops a flood.
API_KEY_VALIDATE_LIMIT = Limit("api-key-validate", 1200, 60)


def api_key_create(
    *,
    actor: User,
    name: str,
    scopes: list[str] | None,
    space_id: str | None,
    origin: Origin,
    session_id: str | None,
    rate_limit: int = API_KEY_DEFAULT_RATE_LIMIT,
    password: str | None = None,
    code: str | None = None,
) -> tuple[ApiKey, str]:
    """A key created with the current password or a TOTP code stays; one created with the session
    alone belongs to the session and ends with it. The user is told by mail either way."""
    space = membership_of(actor, space_id).space if space_id else None
    proven = credential_proof(actor=actor, password=password, code=code, origin=origin)
    secret = secrets.token_hex(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            user=actor,
            space=space,
            name=name,
            prefix=secret[:8],
            key_hash=token_hash(API_KEY_PREFIX + secret),
            scopes=list(scopes) if scopes is not None else list(API_KEY_DEFAULT_SCOPES),
            rate_limit=rate_limit,
            session_id=None if proven else session_id,
        )
        security_event_record(
            type="API_KEY_CREATED", user_id=actor.id, origin=origin, metadata={"apiKeyId": key.id, "sessionBound": not proven}
        )
        mail_enqueue(
            template="api_key_added",
            recipient=actor.email,
            user=actor,
            context={"name": actor.name, "key_name": key.name, "prefix": key.prefix, "session_bound": not proven},
        )
    return key, API_KEY_PREFIX + secret


@on_sessions_ended
def _api_keys_of_ended_sessions_revoke(sessions: QuerySet[Any]) -> None:
    for key_id, user_id in ApiKey.objects.active().filter(session__in=sessions).values_list("pk", "user_id"):
        if ApiKey.objects.filter(pk=key_id).revoke():
            security_event_record(
                type="API_KEY_REVOKED", user_id=user_id, origin=NO_ORIGIN, metadata={"apiKeyId": key_id, "reason": "session_ended"}
            )


def api_key_revoke(*, actor: User, key_id: str, origin: Origin) -> None:
    with transaction.atomic():
        key, revoked = ApiKey.objects.lock_and_revoke(pk=key_id, user=actor)
        if key is None:
            raise ApiError(ErrorCode.NOT_FOUND)
        if revoked:
            security_event_record(type="API_KEY_REVOKED", user_id=actor.id, origin=origin, metadata={"apiKeyId": key.id})


def api_key_validate(*, presented: str, scope: str | None, origin: Origin) -> dict[str, Any]:
    """For the speech services, which send no credential of their own (PLATFORM.md §5): always
    an answer, never an error, with the reason in `error`. The lookup is by the hash of what was
    presented, so no secret is compared in Python; both rate limits count in the shared cache.
    A flood from one address is told `rate_limited` like a key over its own limit: the caller
    must refuse the request either way, and `retryAfterSec` says when to try again."""
    flood = ratelimit.hit(API_KEY_VALIDATE_LIMIT, origin.ip_key)
    if not flood.allowed:
        return {"valid": False, "error": "rate_limited", "retryAfterSec": flood.retry_after}
    if not presented.startswith(API_KEY_PREFIX):
        return {"valid": False, "error": "invalid"}
    key = ApiKey.objects.filter(key_hash=token_hash(presented)).select_related("user").first()
    if key is None or not key.user.is_active:
        return {"valid": False, "error": "invalid"}
    if key.revoked_at is not None:
        return {"valid": False, "error": "revoked"}
    if scope is not None and scope not in key.scopes:
        return {"valid": False, "error": "scope_denied"}
    decision = ratelimit.hit(Limit(f"api-key:{key.pk}", key.rate_limit, key.rate_window_seconds), key.pk)
    rate_limit = {"requests": key.rate_limit, "window": key.rate_window_seconds, "remaining": max(key.rate_limit - decision.count, 0)}
    if not decision.allowed:
        return {"valid": False, "error": "rate_limited", "retryAfterSec": decision.retry_after, "rateLimit": rate_limit}
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= API_KEY_LAST_USED_PRECISION:
        # At most one write a minute per key, however busy it is.
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return {"valid": True, "userId": key.user_id, "spaceId": key.space_id, "scopes": key.scopes, "rateLimit": rate_limit}
