"""Passkey registration, sign-in and management.

Challenges and rate limits live in the shared cache, so options and verify may be served by
different processes. Passkey failures have their own limits and never touch the password lockout
(DESIGN.md rule 2), and a password lock never blocks a passkey.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services.tokens import SignIn, sign_in_complete
from core import clock, ratelimit
from core.errors import ApiError, ErrorCode
from core.origin import Origin
from core.ratelimit import Limit
from core.services import security_event_record
from core.text import normalise_email
from passkeys import webauthn
from passkeys.models import Passkey

logger = logging.getLogger(__name__)

CHALLENGE_TTL_SECONDS = 300
OPTIONS_LIMIT = Limit("passkey-options", 20, 60)
FAILURE_LIMIT = Limit("passkey-failures", 10, 60)
BLOCK_SECONDS = 300
NAME_MAX = 64
# Names of common authenticators by AAGUID (from the public passkey AAGUID registry).
KNOWN_AUTHENTICATORS = {
    "fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
    "dd4ec289-e01d-41c9-bb89-70fa845d4bf2": "iCloud Keychain (Managed)",
    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
    "adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
    "08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
    "9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
    "6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
    "bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
    "d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
    "531126d6-e717-415c-9320-3d9aa6981239": "Dashlane",
}
ZERO_AAGUID = "00000000-0000-0000-0000-000000000000"


def passkeys_enabled() -> bool:
    return bool(settings.PASSKEYS_ENABLED)


def require_enabled() -> None:
    if not passkeys_enabled():
        raise ApiError(ErrorCode.PASSKEY_NOT_ENABLED)


def refuse_if_cancelled(cancelled: bool) -> None:
    if cancelled:
        raise ApiError(ErrorCode.PASSKEY_CANCELLED)


# --- challenges: single use, bound to a purpose and (for registration) a user ----------------
def _challenge_key(challenge: str) -> str:
    return f"webauthn-challenge:{challenge}"


def _challenge_store(challenge: str, *, purpose: str, user_id: str | None = None, email: str | None = None) -> None:
    value = {"purpose": purpose, "userId": user_id, "email": email, "expiresAt": clock.timestamp() + CHALLENGE_TTL_SECONDS}
    cache.set(_challenge_key(challenge), value, timeout=CHALLENGE_TTL_SECONDS)


def _challenge_take(challenge: str, *, purpose: str) -> dict[str, Any] | None:
    """Consume a challenge. Only the caller whose delete removed the key may use it, so two
    verifies racing with one challenge cannot both pass."""
    key = _challenge_key(challenge)
    stored = cache.get(key)
    if not isinstance(stored, dict) or not cache.delete(key) or stored.get("purpose") != purpose:
        return None
    if stored.get("expiresAt", 0) <= clock.timestamp():
        return None
    return stored


# --- registration -----------------------------------------------------------------------------
def registration_options(*, actor: User) -> dict[str, Any]:
    require_enabled()
    existing = list(Passkey.objects.filter(user=actor).values_list("credential_id", "transports"))
    options = webauthn.registration_options(
        user_id=actor.id, user_name=actor.email, display_name=actor.name or actor.email, exclude=existing
    )
    _challenge_store(options.challenge, purpose="register", user_id=actor.id)
    return options.json


def _default_name(aaguid: str) -> str:
    return KNOWN_AUTHENTICATORS.get(aaguid, "Passkey")


def passkey_register(*, actor: User, response: Any, name: str | None, origin: Origin) -> Passkey:
    require_enabled()
    parsed = _parsed(webauthn.parse_registration, response)
    challenge = _parsed(webauthn.client_data, parsed)["challenge"]
    stored = _challenge_take(challenge, purpose="register")
    if stored is None or stored.get("userId") != actor.id:
        raise ApiError(ErrorCode.PASSKEY_VERIFICATION_FAILED)
    try:
        credential = webauthn.verify_registration(response=parsed, challenge=challenge)
    except webauthn.VerificationFailedError as exc:
        logger.info("passkey registration refused: %s", exc)
        raise ApiError(ErrorCode.PASSKEY_VERIFICATION_FAILED) from exc
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=actor,
                credential_id=credential.credential_id,
                public_key=credential.public_key,
                sign_count=credential.sign_count,
                aaguid="" if credential.aaguid == ZERO_AAGUID else credential.aaguid,
                transports=credential.transports,
                device_type=credential.device_type,
                backed_up=credential.backed_up,
                name=name or _default_name(credential.aaguid),
            )
            security_event_record(type="PASSKEY_REGISTERED", user_id=actor.id, origin=origin, metadata={"passkeyId": passkey.id})
    except IntegrityError as exc:
        raise ApiError(ErrorCode.PASSKEY_VERIFICATION_FAILED, "This passkey is already registered.") from exc
    return passkey


# --- sign-in ----------------------------------------------------------------------------------
def authentication_options(*, email: str | None, origin: Origin) -> dict[str, Any]:
    require_enabled()
    ratelimit.enforce(OPTIONS_LIMIT, origin.ip_key)
    allow: list[tuple[str, list[str]]] = []
    address = normalise_email(email) if email else None
    if address:
        # An unknown address gets the same answer as a discoverable origin: nothing to enumerate.
        allow = list(Passkey.objects.filter(user__email=address, user__is_active=True).values_list("credential_id", "transports"))
    options = webauthn.authentication_options(allow=allow)
    # Options asked for one address only sign in that address, whichever credential answers.
    _challenge_store(options.challenge, purpose="authenticate", email=address)
    return options.json


def _block_key(credential_id: str) -> str:
    return f"passkey-blocked:{credential_id}"


def _refuse_if_blocked(credential_id: str) -> None:
    """Checked before any verification work: a credential under attack costs nothing more."""
    now = clock.timestamp()
    try:
        blocked_until = cache.get(_block_key(credential_id))
    except Exception:
        logger.exception("passkey block check unavailable; allowing")
        return
    if isinstance(blocked_until, float) and blocked_until > now:
        raise ApiError(ErrorCode.RATE_LIMITED, retry_after=max(1, int(blocked_until - now + 0.999)))


def _count_failure(credential_id: str, user_id: str | None, origin: Origin, reason: str) -> ApiError:
    security_event_record(type="PASSKEY_LOGIN_FAILURE", user_id=user_id, origin=origin, metadata={"reason": reason})
    decision = ratelimit.hit(FAILURE_LIMIT, credential_id, now=clock.timestamp())
    if decision.count >= FAILURE_LIMIT.limit:
        # The next attempt on this credential, valid or not, waits out the block.
        try:
            cache.set(_block_key(credential_id), clock.timestamp() + BLOCK_SECONDS, timeout=BLOCK_SECONDS)
        except Exception:
            logger.exception("could not block passkey credential after repeated failures")
    return ApiError(ErrorCode.PASSKEY_VERIFICATION_FAILED)


@dataclass(frozen=True)
class _Verified:
    passkey: Passkey
    new_sign_count: int
    backed_up: bool


def _verify(parsed: dict[str, Any], origin: Origin) -> _Verified | ApiError:
    credential_id = parsed["id"]
    challenge = _parsed(webauthn.client_data, parsed)["challenge"]
    stored = _challenge_take(challenge, purpose="authenticate")
    if stored is None:
        return _count_failure(credential_id, None, origin, "challenge")
    passkey = Passkey.objects.select_related("user").filter(credential_id=credential_id, user__is_active=True).first()
    if passkey is None:
        return _count_failure(credential_id, None, origin, "unknown_credential")
    if stored.get("email") and stored["email"] != passkey.user.email:
        return _count_failure(credential_id, passkey.user_id, origin, "other_user")
    handle = webauthn.user_handle(parsed)
    if handle is not None and handle != passkey.user_id:
        return _count_failure(credential_id, passkey.user_id, origin, "user_handle")
    asserted = webauthn.asserted_sign_count(parsed)
    if passkey.sign_count > 0 and asserted <= passkey.sign_count:
        # A counting authenticator went backwards: a cloned key is the likely reason.
        security_event_record(
            type="PASSKEY_CLONE_SUSPECTED",
            user_id=passkey.user_id,
            origin=origin,
            metadata={"passkeyId": passkey.id, "stored": passkey.sign_count, "asserted": asserted},
        )
        return _count_failure(credential_id, passkey.user_id, origin, "sign_count")
    try:
        assertion = webauthn.verify_assertion(
            response=parsed, challenge=challenge, public_key=bytes(passkey.public_key), sign_count=passkey.sign_count
        )
    except webauthn.VerificationFailedError as exc:
        logger.info("passkey assertion refused: %s", exc)
        return _count_failure(credential_id, passkey.user_id, origin, "signature")
    return _Verified(passkey=passkey, new_sign_count=assertion.new_sign_count, backed_up=assertion.backed_up)


def passkey_sign_in(*, response: Any, origin: Origin) -> SignIn:
    require_enabled()
    parsed = _parsed(webauthn.parse_assertion, response)
    _refuse_if_blocked(parsed["id"])
    outcome = _verify(parsed, origin)
    if isinstance(outcome, ApiError):
        raise outcome
    with transaction.atomic():
        Passkey.objects.filter(pk=outcome.passkey.pk).update(
            sign_count=outcome.new_sign_count, backed_up=outcome.backed_up, last_used_at=timezone.now()
        )
        sign_in = sign_in_complete(user=outcome.passkey.user, origin=origin, method="passkey")
    ratelimit.reset(FAILURE_LIMIT, parsed["id"], now=clock.timestamp())
    return sign_in


def _parsed(parse: Any, response: Any) -> Any:
    try:
        return parse(response)
    except webauthn.MalformedResponseError as exc:
        raise ApiError(ErrorCode.VALIDATION, fields={exc.field: [str(exc)]}) from exc


# --- management -------------------------------------------------------------------------------
def _owned(actor: User, passkey_id: str) -> Passkey:
    passkey = Passkey.objects.filter(pk=passkey_id, user=actor).first()
    if passkey is None:
        raise ApiError(ErrorCode.NOT_FOUND)
    return passkey


def passkey_rename(*, actor: User, passkey_id: str, name: str, origin: Origin) -> Passkey:
    require_enabled()
    passkey = _owned(actor, passkey_id)
    passkey.name = name
    passkey.save(update_fields=["name"])
    security_event_record(type="PASSKEY_RENAMED", user_id=actor.id, origin=origin, metadata={"passkeyId": passkey.id})
    return passkey


def passkey_delete(*, actor: User, passkey_id: str, origin: Origin) -> None:
    require_enabled()
    _owned(actor, passkey_id).delete()
    security_event_record(type="PASSKEY_DELETED", user_id=actor.id, origin=origin, metadata={"passkeyId": passkey_id})
