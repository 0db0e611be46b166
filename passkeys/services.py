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
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import User
from accounts.services.profile import credential_proof
from accounts.services.tokens import SignIn, sign_in_complete
from accounts.services.two_factor import two_factor_challenge_start
from core import clock, ratelimit
from core.compiled import CompiledQuery, field_names, instances, row_update, write_all
from core.errors import ApiError, ErrorCode
from core.hooks import on_sessions_ended
from core.origin import NO_ORIGIN, Origin
from core.ratelimit import Limit
from core.services import security_event_record
from core.shared_cache import Entry, value_take, value_take_and_count
from core.text import normalise_email
from mail.services import mail_enqueue
from passkeys import webauthn
from passkeys.models import Passkey

logger = logging.getLogger(__name__)

CHALLENGE_TTL_SECONDS = 300
OPTIONS_LIMIT = Limit("passkey-options", 20, 60, fail_closed=True)
FAILURE_LIMIT = Limit("passkey-failures", 10, 60, fail_closed=True)
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


def _challenge_entry(challenge: str, *, purpose: str, user_id: str | None = None, email: str | None = None) -> Entry:
    value = {"purpose": purpose, "userId": user_id, "email": email, "expiresAt": clock.timestamp() + CHALLENGE_TTL_SECONDS}
    return Entry(_challenge_key(challenge), value, CHALLENGE_TTL_SECONDS)


def _challenge_store(challenge: str, *, purpose: str, user_id: str | None = None, email: str | None = None) -> None:
    entry = _challenge_entry(challenge, purpose=purpose, user_id=user_id, email=email)
    cache.set(entry.key, entry.value, timeout=entry.timeout)


def _challenge_take(challenge: str, *, purpose: str) -> dict[str, Any] | None:
    """Consume a challenge: it leaves the cache as it is read, so two verifies racing with one
    challenge cannot both pass."""
    return _challenge_valid(value_take(_challenge_key(challenge)), purpose)


def _challenge_valid(stored: Any, purpose: str) -> dict[str, Any] | None:
    if not isinstance(stored, dict) or stored.get("purpose") != purpose:
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


def passkey_register(
    *,
    actor: User,
    response: Any,
    name: str | None,
    origin: Origin,
    session_id: str | None,
    password: str | None = None,
    code: str | None = None,
) -> Passkey:
    """A passkey registered with the current password or a TOTP code stays; one registered with
    the session alone (the platform's web app sends no password, PLATFORM.md §2) belongs to the
    session and ends with it. The user is told by mail either way."""
    require_enabled()
    proven = credential_proof(actor=actor, password=password, code=code, origin=origin)
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
                session_id=None if proven else session_id,
            )
            security_event_record(
                type="PASSKEY_REGISTERED", user_id=actor.id, origin=origin, metadata={"passkeyId": passkey.id, "sessionBound": not proven}
            )
            mail_enqueue(
                template="passkey_added",
                recipient=actor.email,
                user=actor,
                context={"name": actor.name, "passkey": passkey.name, "session_bound": not proven},
            )
    except IntegrityError as exc:
        raise ApiError(ErrorCode.PASSKEY_VERIFICATION_FAILED, "This passkey is already registered.") from exc
    return passkey


@on_sessions_ended
def _passkeys_of_ended_sessions_delete(sessions: QuerySet[Any]) -> None:
    for passkey_id, user_id in Passkey.objects.filter(session__in=sessions).values_list("pk", "user_id"):
        Passkey.objects.filter(pk=passkey_id).delete()
        security_event_record(
            type="PASSKEY_DELETED", user_id=user_id, origin=NO_ORIGIN, metadata={"passkeyId": passkey_id, "reason": "session_ended"}
        )


# --- sign-in ----------------------------------------------------------------------------------
# Decoys for addresses without passkeys, shaped like the credentials real authenticators mint
# (id length in bytes, transports), so the options do not tell who has a passkey.
DECOY_SHAPES = ((16, ["hybrid", "internal"]), (20, ["hybrid", "internal"]), (32, ["internal"]), (32, ["internal"]), (64, ["nfc", "usb"]))


def _decoy_credentials(address: str) -> list[tuple[str, list[str]]]:
    """Derived from the address under the server's secret: the same every time it is asked
    (a random answer would differ between two requests, a real one never does)."""
    seed = salted_hmac("passkeys.decoy-credentials", address, algorithm="sha256").digest()
    count = 2 if seed[0] < 64 else 1  # most people hold one passkey, some two
    decoys = []
    for index in range(count):
        length, transports = DECOY_SHAPES[seed[1 + index] % len(DECOY_SHAPES)]
        raw = salted_hmac(f"passkeys.decoy-credential-{index}", address, algorithm="sha512").digest()[:length]
        decoys.append((webauthn.credential_id_text(raw), transports))
    return decoys


def authentication_options(*, email: str | None, origin: Origin) -> dict[str, Any]:
    require_enabled()
    address = normalise_email(email) if email else None
    if not address:
        # Discoverable credentials (any passkey of this site): the challenge is stored with the
        # limit's count, in one round trip, and only if the limit allows it.
        options = webauthn.authentication_options(allow=[])
        ratelimit.enforce(OPTIONS_LIMIT, origin.ip_key, then_set=_challenge_entry(options.challenge, purpose="authenticate"))
        return options.json
    ratelimit.enforce(OPTIONS_LIMIT, origin.ip_key)  # before the lookup it guards
    # Every address gets credentials to ask for: its own, or decoys no authenticator holds.
    real = list(Passkey.objects.filter(user__email=address, user__is_active=True).values_list("credential_id", "transports"))
    options = webauthn.authentication_options(allow=real or _decoy_credentials(address))
    # Options asked for one address only sign in that address, whichever credential answers.
    _challenge_store(options.challenge, purpose="authenticate", email=address)
    return options.json


def _block_key(credential_id: str) -> str:
    return f"passkey-blocked:{credential_id}"


def _blocked_for(credential_id: str) -> int:
    """Seconds the credential's block has left (0: not blocked)."""
    now = clock.timestamp()
    try:
        blocked_until = cache.get(_block_key(credential_id))
    except Exception:
        logger.exception("passkey block check unavailable; allowing")
        return 0
    if isinstance(blocked_until, float) and blocked_until > now:
        return max(1, int(blocked_until - now + 0.999))
    return 0


@dataclass(frozen=True)
class _Refused:
    reason: str
    user_id: str | None = None


def _count_failure(credential_id: str, refused: _Refused, origin: Origin) -> ApiError:
    security_event_record(type="PASSKEY_LOGIN_FAILURE", user_id=refused.user_id, origin=origin, metadata={"reason": refused.reason})
    decision = ratelimit.hit(FAILURE_LIMIT, credential_id, now=clock.timestamp())
    if decision.count >= FAILURE_LIMIT.limit:
        # Further failed attempts on this credential are refused as rate limited, uncounted.
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
    user_verified: bool
    failures: int  # the credential's failures counted in this window, which the sign-in clears


# Every passkey sign-in asks this (core/compiled.py): the credential with its active user.
_ACTIVE_PASSKEY = CompiledQuery(
    lambda credential: Passkey.objects.filter(credential_id=credential, user__is_active=True).values_list(
        *field_names(Passkey), *field_names(User, "user__")
    ),
    "credential",
)


def _active_passkey(credential_id: str) -> Passkey | None:
    row = _ACTIVE_PASSKEY.first(credential=credential_id)
    if row is None:
        return None
    passkey, passkey.user = instances(row, Passkey, User)
    return passkey


def _verify(parsed: dict[str, Any], origin: Origin) -> _Verified | _Refused:
    credential_id = parsed["id"]
    challenge = _parsed(webauthn.client_data, parsed)["challenge"]
    # The credential's failure count comes with the challenge: a sign-in that follows none has
    # nothing to clear, and saves the round trip.
    taken, failures = value_take_and_count(
        _challenge_key(challenge), ratelimit.counter_key(FAILURE_LIMIT, credential_id, now=clock.timestamp())
    )
    stored = _challenge_valid(taken, "authenticate")
    if stored is None:
        return _Refused("challenge")
    passkey = _active_passkey(credential_id)
    if passkey is None:
        return _Refused("unknown_credential")
    if stored.get("email") and stored["email"] != passkey.user.email:
        return _Refused("other_user", passkey.user_id)
    handle = webauthn.user_handle(parsed)
    if handle is not None and not passkey.handle_unknown and handle != passkey.user_id:
        return _Refused("user_handle", passkey.user_id)
    asserted = webauthn.asserted_sign_count(parsed)
    if passkey.sign_count > 0 and asserted <= passkey.sign_count:
        # A counting authenticator went backwards: a cloned key is the likely reason.
        security_event_record(
            type="PASSKEY_CLONE_SUSPECTED",
            user_id=passkey.user_id,
            origin=origin,
            metadata={"passkeyId": passkey.id, "stored": passkey.sign_count, "asserted": asserted},
        )
        return _Refused("sign_count", passkey.user_id)
    try:
        assertion = webauthn.verify_assertion(
            response=parsed, challenge=challenge, public_key=bytes(passkey.public_key), sign_count=passkey.sign_count
        )
    except webauthn.VerificationFailedError as exc:
        logger.info("passkey assertion refused: %s", exc)
        return _Refused("signature", passkey.user_id)
    return _Verified(
        passkey=passkey,
        new_sign_count=assertion.new_sign_count,
        backed_up=assertion.backed_up,
        user_verified=assertion.user_verified,
        failures=failures,
    )


def passkey_sign_in(*, response: Any, origin: Origin) -> SignIn:
    """Without user verification (PIN, biometric) a passkey proves possession only: the sign-in
    is recorded as "passkey_no_uv", which is not a strong sign-in, and a user with 2FA still
    gives the second factor."""
    require_enabled()
    parsed = _parsed(webauthn.parse_assertion, response)
    outcome = _verify(parsed, origin)
    if isinstance(outcome, _Refused):
        # A block only answers failures, never a valid assertion (verified first): a stranger's
        # garbage against a credential id cannot lock its owner out.
        if blocked_for := _blocked_for(parsed["id"]):
            raise ApiError(ErrorCode.RATE_LIMITED, retry_after=blocked_for)
        raise _count_failure(parsed["id"], outcome, origin)
    user = outcome.passkey.user
    result: SignIn | ApiError
    counter = row_update(
        Passkey, outcome.passkey.pk, sign_count=outcome.new_sign_count, backed_up=outcome.backed_up, last_used_at=timezone.now()
    )
    if outcome.user_verified or not user.two_factor_enabled:
        # The counter goes with the sign-in's own writes: one statement, no transaction needed.
        method = "passkey" if outcome.user_verified else "passkey_no_uv"
        result = sign_in_complete(user=user, origin=origin, method=method, along=[counter])
    else:
        with transaction.atomic():
            write_all(counter)
            result = two_factor_challenge_start(user, None, method="passkey_no_uv")
    if outcome.failures:
        ratelimit.reset(FAILURE_LIMIT, parsed["id"], now=clock.timestamp())
    if isinstance(result, ApiError):
        raise result  # after the commit: the handoff's challenge row must outlive the request
    return result


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
