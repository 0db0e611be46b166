"""Two-factor sign-in: TOTP enrolment (secret KEK-wrapped), backup codes, and the second step of
a sign-in, handed over from the first with a short-lived single-use token."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import totp
from accounts.models import BackupCode, DeviceToken, TwoFactor, TwoFactorChallenge, User
from accounts.services.lockout import blocked_by_lock, failure_register, lock_state, success_writes
from accounts.services.passwords import password_reauthenticate
from accounts.services.tokens import SignIn, sign_in_complete
from core import ratelimit
from core.errors import ApiError, ErrorCode
from core.keyring import get_keyring, rewrap_rows
from core.origin import Origin
from core.ratelimit import Limit
from core.rewrap import RewrapCount, rewrapper
from core.secrets import new_token, token_hash
from core.services import security_event_record
from mail.services import mail_enqueue

TWO_FACTOR_CHALLENGE_LIFETIME = timedelta(minutes=5)
BACKUP_CODE_COUNT = 10
# Guesses at the second step per user: the lock does not close it after a mailed link (below).
TWO_FACTOR_LIMIT = Limit("two-factor-verify", 10, 900, fail_closed=True)
# First steps that proved the mailbox, not the password: the password lock does not block their
# second step (API.md: the magic link works while the password is locked).
LOCK_EXEMPT_METHODS = frozenset({"magic_link", "email_verification"})


def _secret_aad(user_id: str) -> bytes:
    return f"totp-secret:{user_id}".encode()


BACKUP_CODE_PURPOSE = "backup-code"
BACKUP_CODE_FORMAT = "k:"  # keyed; 0007_backup_codes_keyed moved the earlier plain SHA-256 rows to it


def _backup_code_hashes(user_id: str, code: str) -> list[str]:
    """What a code may be stored as: its digest, HMAC-keyed under each KEK (a dump alone cannot
    test guesses at 40 bits); the first, under the active KEK, is what new codes get."""
    normalised = code.strip().lower().replace("-", "").replace(" ", "")
    digest = token_hash(f"backup-code:{user_id}:{normalised}")
    return [f"{BACKUP_CODE_FORMAT}{keyed[:62]}" for keyed in get_keyring().keyed_hashes(BACKUP_CODE_PURPOSE, digest)]


def _new_backup_codes(user: User) -> list[str]:
    """Ten fresh codes (shown once); the old set is void."""
    BackupCode.objects.filter(user=user).delete()
    codes = [f"{secret[:5]}-{secret[5:]}" for secret in (secrets.token_hex(5) for _ in range(BACKUP_CODE_COUNT))]
    BackupCode.objects.bulk_create(BackupCode(user=user, code_hash=_backup_code_hashes(user.id, code)[0]) for code in codes)
    return codes


@dataclass(frozen=True)
class TwoFactorEnrollment:
    totp_uri: str
    secret: str
    backup_codes: list[str]


def two_factor_enable(*, actor: User, password: str, origin: Origin, at_once: bool = False) -> TwoFactorEnrollment:
    """Step one: a pending secret and backup codes; nothing changes at sign-in until a code
    confirms it. `at_once` switches it on without that step (the platform's setup has none; the
    backup codes are its safety net)."""
    password_reauthenticate(user=actor, password=password, origin=origin)
    if actor.two_factor_enabled:
        raise ApiError(ErrorCode.VALIDATION, "Two-factor authentication is already on; switch it off first.")
    secret = totp.new_secret()
    with transaction.atomic():
        TwoFactor.objects.update_or_create(
            user=actor,
            defaults={
                "secret_wrapped": get_keyring().wrap_text(secret.encode(), aad=_secret_aad(actor.id)),
                "confirmed_at": timezone.now() if at_once else None,
                "last_used_step": 0,
            },
        )
        codes = _new_backup_codes(actor)
        if at_once:
            User.objects.filter(pk=actor.pk).update(two_factor_enabled=True)
            actor.two_factor_enabled = True
            security_event_record(type="TWO_FACTOR_ENABLED", user_id=actor.id, origin=origin)
    return TwoFactorEnrollment(totp_uri=totp.provisioning_uri(secret, actor.email), secret=secret, backup_codes=codes)


def two_factor_import(*, user: User, secret: str, backup_codes: list[str]) -> None:
    """A second factor confirmed elsewhere (the old service), on at once: its base32 `secret`
    wrapped and its `backup_codes` hashed exactly as ours are, so every code path treats them alike."""
    with transaction.atomic():
        TwoFactor.objects.create(
            user=user, secret_wrapped=get_keyring().wrap_text(secret.encode(), aad=_secret_aad(user.id)), confirmed_at=timezone.now()
        )
        BackupCode.objects.bulk_create(BackupCode(user=user, code_hash=_backup_code_hashes(user.id, code)[0]) for code in backup_codes)
        User.objects.filter(pk=user.pk).update(two_factor_enabled=True)


def _accept_totp(two_factor: TwoFactor, code: str) -> bool:
    """True for a current code not used before; the row must be locked by the caller."""
    secret = get_keyring().unwrap_text(two_factor.secret_wrapped, aad=_secret_aad(two_factor.user_id)).decode()
    step = totp.matching_step(secret, code.strip())
    if step is None or step <= two_factor.last_used_step:
        return False
    two_factor.last_used_step = step
    two_factor.save(update_fields=["last_used_step"])
    return True


def two_factor_confirm(*, actor: User, code: str, origin: Origin) -> None:
    with transaction.atomic():
        pending = TwoFactor.objects.select_for_update().filter(user=actor, confirmed_at__isnull=True).first()
        accepted = pending is not None and _accept_totp(pending, code)
        if accepted and pending is not None:
            pending.confirmed_at = timezone.now()
            pending.save(update_fields=["confirmed_at"])
            User.objects.filter(pk=actor.pk).update(two_factor_enabled=True)
            security_event_record(type="TWO_FACTOR_ENABLED", user_id=actor.id, origin=origin)
    if not accepted:
        raise ApiError(ErrorCode.TWO_FACTOR_FAILED)


def two_factor_remove(*, user: User) -> None:
    """Two-factor sign-in off, secret and backup codes gone, and the user told by mail; the
    caller (the user or an operator) records who did it. Run inside a transaction."""
    TwoFactor.objects.filter(user=user).delete()
    BackupCode.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(two_factor_enabled=False)
    mail_enqueue(template="two_factor_disabled", recipient=user.email, user=user, context={"name": user.name})


def two_factor_disable(*, actor: User, password: str, origin: Origin) -> None:
    password_reauthenticate(user=actor, password=password, origin=origin)
    with transaction.atomic():
        two_factor_remove(user=actor)
        security_event_record(type="TWO_FACTOR_DISABLED", user_id=actor.id, origin=origin)


def backup_codes_regenerate(*, actor: User, password: str, origin: Origin) -> list[str]:
    password_reauthenticate(user=actor, password=password, origin=origin)
    if not actor.two_factor_enabled:
        raise ApiError(ErrorCode.VALIDATION, "Two-factor authentication is off.")
    with transaction.atomic():
        codes = _new_backup_codes(actor)
        security_event_record(type="BACKUP_CODES_REGENERATED", user_id=actor.id, origin=origin)
    return codes


def two_factor_challenge_start(user: User, device: DeviceToken | None, *, method: str) -> ApiError:
    """Hand the first factor over to the second: a short-lived token bound to the user (and the
    device the first step came from), answered as TWO_FACTOR_REQUIRED with no tokens."""
    raw = new_token()
    TwoFactorChallenge.objects.create(
        user=user, token_hash=token_hash(raw), device_token=device, method=method, expires_at=timezone.now() + TWO_FACTOR_CHALLENGE_LIFETIME
    )
    return ApiError(ErrorCode.TWO_FACTOR_REQUIRED, extra={"twoFactorToken": raw})


def totp_code_accept(user: User, code: str) -> bool:
    """A current TOTP code of the user's confirmed second factor, not used before (the row is
    locked for the caller's transaction)."""
    two_factor = TwoFactor.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    return two_factor is not None and _accept_totp(two_factor, code)


def _second_factor_matches(user: User, code: str | None, backup_code: str | None, origin: Origin) -> bool:
    if code:
        return totp_code_accept(user, code)
    if backup_code:
        candidates = _backup_code_hashes(user.id, backup_code)
        used = BackupCode.objects.filter(user=user, code_hash__in=candidates, used_at__isnull=True).update(used_at=timezone.now())
        if used:
            security_event_record(type="BACKUP_CODE_USED", user_id=user.id, origin=origin)
            remaining = BackupCode.objects.filter(user=user, used_at__isnull=True).count()
            mail_enqueue(template="backup_code_used", recipient=user.email, user=user, context={"name": user.name, "remaining": remaining})
        return bool(used)
    return False


def _second_factor_attempt(
    raw: str, code: str | None, backup_code: str | None, device_token: str | None, origin: Origin
) -> SignIn | ApiError:
    now = timezone.now()
    with transaction.atomic():
        challenge = TwoFactorChallenge.objects.select_for_update().select_related("user").filter(token_hash=token_hash(raw)).first()
        if challenge is None or challenge.used_at is not None or not challenge.user.is_active:
            return ApiError(ErrorCode.TOKEN_INVALID, status=401)
        if challenge.expires_at <= now:
            return ApiError(ErrorCode.TOKEN_EXPIRED)
        user = challenge.user
        ratelimit.enforce(TWO_FACTOR_LIMIT, user.id)
        state = lock_state(user.email)
        device = DeviceToken.objects.active().filter(pk=challenge.device_token_id).first() if challenge.device_token_id else None
        if challenge.method not in LOCK_EXEMPT_METHODS and (blocked := blocked_by_lock(state, device, origin, now, method="two_factor")):
            return blocked
        if not _second_factor_matches(user, code, backup_code, origin):
            failure_register(state, user, device, origin, now, method="two_factor")
            return ApiError(ErrorCode.TWO_FACTOR_FAILED)
        challenge.used_at = now
        challenge.save(update_fields=["used_at"])
        return sign_in_complete(
            user=user,
            origin=origin,
            method=f"{challenge.method}+totp",
            device_token=device_token,
            along=success_writes(state, device, origin, now, method="two_factor"),
        )


def two_factor_verify(*, token: str, code: str | None, backup_code: str | None, device_token: str | None, origin: Origin) -> SignIn:
    result = _second_factor_attempt(token, code, backup_code, device_token, origin)
    if isinstance(result, ApiError):
        raise result
    return result


@rewrapper("TOTP secrets", TwoFactor, order=30)
def two_factor_secrets_rewrap(**_: Any) -> RewrapCount:
    """Re-wrap TOTP secrets under the active KEK (KEK rotation)."""
    rows = TwoFactor.objects.only("user_id", "secret_wrapped")
    return RewrapCount(rewrap_rows(rows, "secret_wrapped", lambda row: _secret_aad(row.user_id)))
