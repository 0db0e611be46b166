"""Account writes: registration, sign-in and its lockout, sessions and tokens, password and
email flows. Views stay thin and call one function here.

Failures that must leave a trace (attempt rows, lock state, security events) are decided inside
a transaction that commits, and raised only after it; a database or network error anywhere rolls
the whole attempt back and counts nothing (DESIGN.md rule 2).
"""

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from accounts import jwt, totp
from accounts.mail import deliver, mail_enqueue
from accounts.models import (
    BackupCode,
    DeviceToken,
    EmailToken,
    LockoutState,
    LoginAttempt,
    OutboxMessage,
    RefreshToken,
    Session,
    SignupDay,
    TwoFactor,
    TwoFactorChallenge,
    User,
    UserSettings,
)
from core import ratelimit
from core.errors import ApiError, ErrorCode
from core.keyring import get_keyring, rewrap_rows
from core.models import SecurityEvent
from core.ratelimit import Limit
from core.requests import client_ip, user_agent
from core.secrets import new_token, token_hash
from core.services import security_event_record
from core.text import normalise_email
from spaces.models import Invitation
from spaces.services import personal_space_create, spaces_blocking_deletion, spaces_release

logger = logging.getLogger(__name__)

SESSION_LIFETIME = timedelta(days=30)
REFRESH_REUSE_GRACE = timedelta(seconds=10)
LOCK_THRESHOLD = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=30)
DEVICE_FAILURE_LIMIT = 10
PASSWORD_MAX_LENGTH = 128
TOKEN_LIFETIMES: dict[str, timedelta] = {
    EmailToken.Purpose.VERIFY_EMAIL: timedelta(hours=24),
    EmailToken.Purpose.RESET_PASSWORD: timedelta(hours=1),
    EmailToken.Purpose.CHANGE_EMAIL: timedelta(hours=24),
    EmailToken.Purpose.MAGIC_LINK: timedelta(minutes=10),
}

LOGIN_LIMIT = Limit("login", 30, 60)
REGISTER_LIMIT = Limit("register", 10, 3600)
FORGOT_PASSWORD_LIMIT = Limit("forgot-password", 5, 900)
RESEND_VERIFICATION_LIMIT = Limit("resend-verification", 5, 900)
MAGIC_LINK_IP_LIMIT = Limit("magic-link-ip", 5, 900)
MAGIC_LINK_EMAIL_LIMIT = Limit("magic-link-email", 3, 900)
TWO_FACTOR_CHALLENGE_LIFETIME = timedelta(minutes=5)
BACKUP_CODE_COUNT = 10


# --- small shared pieces ----------------------------------------------------------------------
def _ip(request: HttpRequest | None) -> str:
    return (client_ip(request) if request is not None else None) or "unknown"


def email_fingerprint(email: str) -> str:
    """Identifies an address in events that are not its owner's, without spelling it out."""
    return token_hash(f"email:{email}")[:16]


def password_check_strength(password: str, *, user: User | None = None, field: str = "password") -> None:
    messages: list[str] = []
    if len(password) > PASSWORD_MAX_LENGTH:
        messages.append(f"Use at most {PASSWORD_MAX_LENGTH} characters.")
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        messages.extend(str(message) for message in exc.messages)
    if messages:
        raise ApiError(ErrorCode.WEAK_PASSWORD, fields={field: messages})


_dummy_hash: str | None = None


def _spend_hashing_time(password: str) -> None:
    """Verify against a throwaway hash, so an unknown email costs what a wrong password costs."""
    global _dummy_hash  # an immutable constant, computed once per process
    if _dummy_hash is None:
        _dummy_hash = make_password(new_token())
    check_password(password, _dummy_hash)


def _password_matches(user: User | None, password: str) -> bool:
    if user is None or not user.is_active or not user.has_usable_password():
        _spend_hashing_time(password)
        return False
    # check_password re-hashes with the preferred hasher (PBKDF2 → Argon2id) on success.
    return user.check_password(password)


# --- tokens and sessions ----------------------------------------------------------------------
@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    session: Session


@dataclass(frozen=True)
class SignIn:
    user: User
    tokens: TokenPair
    device_token: str


def _access_claims(user: User, session: Session) -> dict[str, Any]:
    return {"sub": user.id, "email": user.email, "role": user.role, "tier": user.tier, "sid": session.id}


def _issue_refresh_token(session: Session) -> str:
    raw = new_token()
    RefreshToken.objects.create(session=session, token_hash=token_hash(raw))
    return raw


def session_start(*, user: User, request: HttpRequest | None, method: str) -> TokenPair:
    now = timezone.now()
    session = Session.objects.create(
        user=user,
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_LIFETIME,
        ip_address=client_ip(request) if request is not None else None,
        user_agent=user_agent(request) if request is not None else "",
        method=method,
    )
    return TokenPair(jwt.encode_access_token(_access_claims(user, session)), _issue_refresh_token(session), session)


def _valid_device_token(raw: str | None, user: User | None) -> DeviceToken | None:
    if not raw or user is None:
        return None
    return DeviceToken.objects.filter(token_hash=token_hash(raw), user=user, revoked_at__isnull=True).first()


def sign_in_complete(
    *, user: User, request: HttpRequest | None, method: str, device_token: str | None = None, device: DeviceToken | None = None
) -> SignIn:
    """The end of every sign-in that hands out tokens (password, 2FA, magic link, passkey,
    email verification): a session, a token pair and a device token, and one event. `device` is
    the row of `device_token` when the caller has already looked it up."""
    if device is None:
        device = _valid_device_token(device_token, user)
    if device is not None and device_token:
        raw_device = device_token
        DeviceToken.objects.filter(pk=device.pk).update(last_used_at=timezone.now())
    else:
        raw_device = new_token()
        DeviceToken.objects.create(user=user, token_hash=token_hash(raw_device))
    tokens = session_start(user=user, request=request, method=method)
    security_event_record(
        type="LOGIN_SUCCESS", user_id=user.id, request=request, metadata={"method": method, "sessionId": tokens.session.id}
    )
    return SignIn(user=user, tokens=tokens, device_token=raw_device)


def token_refresh(*, refresh_token: str, request: HttpRequest | None) -> TokenPair:
    now = timezone.now()
    reused_session: Session | None = None
    with transaction.atomic():
        row = RefreshToken.objects.select_for_update().select_related("session__user").filter(token_hash=token_hash(refresh_token)).first()
        if row is None or row.session.revoked_at is not None or not row.session.user.is_active:
            raise ApiError(ErrorCode.TOKEN_INVALID, status=401)
        session = row.session
        if session.expires_at <= now:
            raise ApiError(ErrorCode.TOKEN_EXPIRED)
        if row.used_at is not None:
            if now - row.used_at <= REFRESH_REUSE_GRACE:
                # A retry of a request whose answer got lost: refuse it, but do not punish it.
                raise ApiError(ErrorCode.TOKEN_INVALID, status=401)
            Session.objects.filter(pk=session.pk).update(revoked_at=now)
            reused_session = session
        else:
            row.used_at = now
            row.save(update_fields=["used_at"])
            Session.objects.filter(pk=session.pk).update(last_seen_at=now, expires_at=now + SESSION_LIFETIME)
            pair = TokenPair(jwt.encode_access_token(_access_claims(session.user, session)), _issue_refresh_token(session), session)
    if reused_session is not None:
        security_event_record(
            type="REFRESH_TOKEN_REUSE", user_id=reused_session.user_id, request=request, metadata={"sessionId": reused_session.id}
        )
        raise ApiError(ErrorCode.TOKEN_INVALID, status=401)
    return pair


@dataclass(frozen=True)
class TokenCheck:
    valid: bool
    payload: dict[str, Any] | None = None
    reason: str = ""
    session: Session | None = None


def access_token_check(token: str, *, load_session: bool = True) -> TokenCheck:
    """Signature, claims, and the session behind the token: revoked or expired sessions fail.
    /validate needs only the verdict (`load_session=False`): three columns, no model instances."""
    try:
        payload = jwt.decode_access_token(token)
    except jwt.TokenExpiredError:
        return TokenCheck(valid=False, reason="expired")
    except jwt.TokenInvalidError:
        return TokenCheck(valid=False, reason="invalid")
    sessions = Session.objects.filter(pk=payload.get("sid"), user_id=payload.get("sub"))
    session: Session | None = None
    if load_session:
        session = sessions.select_related("user").first()
        state = (session.revoked_at, session.expires_at, session.user.is_active) if session else None
    else:
        state = next(iter(sessions.values_list("revoked_at", "expires_at", "user__is_active")), None)
    if state is None or state[0] is not None or not state[2]:
        return TokenCheck(valid=False, reason="revoked")
    if state[1] <= timezone.now():
        return TokenCheck(valid=False, reason="expired")
    return TokenCheck(valid=True, payload=payload, session=session)


def session_revoke(*, actor: User, session_id: str, request: HttpRequest | None, event: str = "SESSION_REVOKED") -> None:
    """Idempotent: revoking a revoked session succeeds quietly, with no second event."""
    revoked = Session.objects.filter(pk=session_id, user=actor, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        security_event_record(type=event, user_id=actor.id, request=request, metadata={"sessionId": session_id})
    elif not Session.objects.filter(pk=session_id, user=actor).exists():
        raise ApiError(ErrorCode.NOT_FOUND)


def sessions_revoke_others(*, actor: User, keep: str | None, request: HttpRequest | None) -> int:
    """Sign out everywhere but here: one event per session ended."""
    ended = 0
    for session_id in Session.objects.filter(user=actor, revoked_at__isnull=True).exclude(pk=keep or "").values_list("pk", flat=True):
        session_revoke(actor=actor, session_id=session_id, request=request)
        ended += 1
    return ended


def _revoke_sessions(user: User, *, keep: str | None = None) -> int:
    return Session.objects.filter(user=user, revoked_at__isnull=True).exclude(pk=keep or "").update(revoked_at=timezone.now())


def logout(*, request: HttpRequest, actor: User | None, session_id: str | None, refresh_token: str | None) -> None:
    if actor is not None and session_id is not None:
        session_revoke(actor=actor, session_id=session_id, request=request, event="LOGOUT")
        return
    if refresh_token:
        row = RefreshToken.objects.select_related("session").filter(token_hash=token_hash(refresh_token)).first()
        if row is not None and Session.objects.filter(pk=row.session_id, revoked_at__isnull=True).update(revoked_at=timezone.now()):
            security_event_record(type="LOGOUT", user_id=row.session.user_id, request=request, metadata={"sessionId": row.session_id})
        return  # an unknown token or a revoked session is signed out already
    raise ApiError(ErrorCode.UNAUTHORIZED)


# --- password sign-in and the lockout ---------------------------------------------------------
def _lock_state(email: str) -> LockoutState:
    """The email's lockout row, locked for this transaction: concurrent attempts queue here."""
    state, _ = LockoutState.objects.select_for_update().get_or_create(email=email)
    return state


def _record_attempt(
    email: str, request: HttpRequest | None, outcome: str, *, device: DeviceToken | None = None, method: str = "password"
) -> None:
    LoginAttempt.objects.create(
        email=email, method=method, ip_address=client_ip(request) if request else None, outcome=outcome, device_token=device
    )


def _counted_failures(state: LockoutState, now: datetime) -> int:
    since = now - FAILURE_WINDOW
    if state.cleared_at and state.cleared_at > since:
        since = state.cleared_at
    return LoginAttempt.objects.filter(
        email=state.email, outcome=LoginAttempt.Outcome.FAILURE, device_token__isnull=True, created_at__gt=since
    ).count()


def _register_failure(
    state: LockoutState, user: User | None, device: DeviceToken | None, request: HttpRequest | None, now: datetime, *, method: str
) -> None:
    """A credential failure (INVALID_CREDENTIALS or TWO_FACTOR_FAILED), and nothing else, lands here."""
    _record_attempt(state.email, request, LoginAttempt.Outcome.FAILURE, device=device, method=method)
    metadata: dict[str, Any] = {"method": method} | ({} if user else {"emailFingerprint": email_fingerprint(state.email)})
    security_event_record(type="LOGIN_FAILURE", user_id=user.id if user else None, request=request, metadata=metadata)
    if device is not None:
        # Failures from a known device count against that device only; too many void it.
        device_failures = LoginAttempt.objects.filter(
            device_token=device, outcome=LoginAttempt.Outcome.FAILURE, created_at__gt=now - FAILURE_WINDOW
        ).count()
        if device_failures >= DEVICE_FAILURE_LIMIT:
            DeviceToken.objects.filter(pk=device.pk).update(revoked_at=now)
        return
    if _counted_failures(state, now) >= LOCK_THRESHOLD and not _locked(state, now):
        state.locked_at = now
        state.locked_until = now + LOCK_DURATION
        state.save(update_fields=["locked_at", "locked_until"])
        security_event_record(
            type="ACCOUNT_LOCKED",
            user_id=user.id if user else None,
            request=request,
            metadata={"lockedUntil": state.locked_until.isoformat()},
        )
        if user is not None:
            reset_link = _email_token_link(user, EmailToken.Purpose.RESET_PASSWORD, "reset-password")
            mail_enqueue(template="account_locked", recipient=user.email, user=user, context={"name": user.name, "link": reset_link})


def _retry_after(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


def _locked(state: LockoutState, now: datetime) -> bool:
    return bool(state.locked_until and state.locked_until > now)


def _blocked_by_lock(
    state: LockoutState, device: DeviceToken | None, request: HttpRequest | None, now: datetime, *, method: str
) -> ApiError | None:
    """A locked email refuses credential attempts, except from a device that signed in before.
    The refusal is recorded, but as BLOCKED: it never counts or extends the lock."""
    if state.locked_until is None or not _locked(state, now) or device is not None:
        return None
    _record_attempt(state.email, request, LoginAttempt.Outcome.BLOCKED, method=method)
    return ApiError(ErrorCode.ACCOUNT_LOCKED, retry_after=_retry_after(state.locked_until, now))


def _record_success(state: LockoutState, device: DeviceToken | None, request: HttpRequest | None, now: datetime, *, method: str) -> None:
    """A sign-in that passed clears the email's failures, unless it came through a lock (a known
    device): the lock, caused elsewhere, stays for everyone else."""
    _record_attempt(state.email, request, LoginAttempt.Outcome.SUCCESS, device=device, method=method)
    if not _locked(state, now):
        state.cleared_at = now
        state.save(update_fields=["cleared_at"])


def _password_attempt(email: str, password: str, device_token: str | None, request: HttpRequest | None) -> SignIn | ApiError:
    """One password attempt under the email's row lock. Returns the error instead of raising it,
    so the attempt, lock and events it wrote commit with the transaction."""
    now = timezone.now()
    with transaction.atomic():
        state = _lock_state(email)
        user = User.objects.filter(email=email).first()
        device = _valid_device_token(device_token, user)
        if blocked := _blocked_by_lock(state, device, request, now, method="password"):
            return blocked
        if not _password_matches(user, password) or user is None:
            _register_failure(state, user, device, request, now, method="password")
            return ApiError(ErrorCode.INVALID_CREDENTIALS)
        if not user.email_verified:
            return ApiError(ErrorCode.EMAIL_NOT_VERIFIED)
        if user.two_factor_enabled:
            # The password was right; the sign-in completes at /two-factor/verify.
            return _two_factor_required(user, device, method="password")
        _record_success(state, device, request, now, method="password")
        return sign_in_complete(user=user, request=request, method="password", device_token=device_token, device=device)


def login(*, email: str, password: str, device_token: str | None, request: HttpRequest) -> SignIn:
    ratelimit.enforce(LOGIN_LIMIT, _ip(request))
    try:
        result = _password_attempt(normalise_email(email), password, device_token, request)
    except DatabaseError:
        _record_service_error(request, "login")
        raise
    if isinstance(result, ApiError):
        raise result
    return result


def _record_service_error(request: HttpRequest | None, action: str) -> None:
    """Leave a SERVICE_ERROR event if the database still takes writes; never mask the error."""
    try:
        with transaction.atomic():
            security_event_record(type="SERVICE_ERROR", request=request, metadata={"action": action})
    except DatabaseError:
        logger.warning("could not record SERVICE_ERROR for %s: the database refuses writes", action)


def lockout_clear(*, email: str) -> None:
    now = timezone.now()
    LockoutState.objects.filter(email=normalise_email(email)).update(cleared_at=now, locked_until=None)


def password_reauthenticate(*, user: User, password: str, request: HttpRequest | None, method: str = "reauth") -> None:
    """Confirm a signed-in user's password before a sensitive change. A wrong password is a
    credential failure like at sign-in: it counts toward the lockout."""
    with transaction.atomic():
        state = _lock_state(user.email)
        now = timezone.now()
        if state.locked_until and _locked(state, now):
            error = ApiError(ErrorCode.ACCOUNT_LOCKED, retry_after=_retry_after(state.locked_until, now))
        elif _password_matches(user, password):
            return
        else:
            _register_failure(state, user, None, request, now, method=method)
            error = ApiError(ErrorCode.INVALID_CREDENTIALS)
    raise error


# --- registration and email verification -------------------------------------------------------
def signup_status(*, today: datetime | None = None) -> dict[str, Any]:
    now = today or timezone.now()
    day = now.date()
    taken = SignupDay.objects.filter(day=day).values_list("count", flat=True).first() or 0
    limit = settings.MAX_DAILY_SIGNUPS
    resets_at = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
    return {
        "registrationOpen": limit == 0 or taken < limit,
        "spotsRemaining": None if limit == 0 else max(limit - taken, 0),
        "totalToday": taken,
        "limit": limit or None,
        "resetsAt": resets_at,
    }


def _count_signup() -> None:
    """Take one of today's places, under a row lock so the cap holds under concurrency."""
    day = timezone.now().date()
    counter, _ = SignupDay.objects.select_for_update().get_or_create(day=day)
    if settings.MAX_DAILY_SIGNUPS and counter.count >= settings.MAX_DAILY_SIGNUPS:
        raise ApiError(ErrorCode.SIGNUP_LIMIT_REACHED)
    SignupDay.objects.filter(day=day).update(count=F("count") + 1)


def _email_token_create(user: User, purpose: str, *, new_email: str = "") -> str:
    raw = new_token()
    now = timezone.now()
    # A new token of a purpose voids the older ones: only the latest link works.
    EmailToken.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(used_at=now)
    EmailToken.objects.create(
        user=user, purpose=purpose, token_hash=token_hash(raw), new_email=new_email, expires_at=now + TOKEN_LIFETIMES[purpose]
    )
    return raw


# Links that can take over an account: a change of password or address voids those still open,
# so a reset link sent to an old mailbox cannot be used after the address moved.
ACCOUNT_TAKEOVER_PURPOSES = (EmailToken.Purpose.RESET_PASSWORD, EmailToken.Purpose.CHANGE_EMAIL, EmailToken.Purpose.MAGIC_LINK)


def _void_account_links(user: User) -> None:
    EmailToken.objects.filter(user=user, purpose__in=ACCOUNT_TAKEOVER_PURPOSES, used_at__isnull=True).update(used_at=timezone.now())


def _email_token_link(user: User, purpose: str, page: str, *, new_email: str = "") -> str:
    return f"{settings.BASE_URL}/{page}?token={_email_token_create(user, purpose, new_email=new_email)}"


def _email_token_redeem(raw: str, purpose: str) -> EmailToken:
    """Mark a mailed token used (row-locked: a token works once, even under concurrency)."""
    row = EmailToken.objects.select_for_update().select_related("user").filter(token_hash=token_hash(raw), purpose=purpose).first()
    if row is None or row.used_at is not None or not row.user.is_active:
        raise ApiError(ErrorCode.TOKEN_INVALID)
    if row.expires_at <= timezone.now():
        raise ApiError(ErrorCode.TOKEN_EXPIRED)
    row.used_at = timezone.now()
    row.save(update_fields=["used_at"])
    return row


def _send_verification(user: User) -> None:
    link = _email_token_link(user, EmailToken.Purpose.VERIFY_EMAIL, "verify-email")
    mail_enqueue(template="verify_email", recipient=user.email, user=user, context={"name": user.name, "link": link})


def user_register(*, email: str, password: str, name: str, language: str, request: HttpRequest) -> User:
    ratelimit.enforce(REGISTER_LIMIT, _ip(request))
    email = normalise_email(email)
    password_check_strength(password, user=User(email=email, name=name))
    try:
        with transaction.atomic():
            if User.objects.filter(email=email).exists():
                raise ApiError(ErrorCode.EMAIL_ALREADY_REGISTERED)
            _count_signup()
            user = User.objects.create_user(email, password, name=name, locale=language)
            personal_space_create(user=user)
            _send_verification(user)
            security_event_record(type="REGISTER", user_id=user.id, request=request)
    except IntegrityError as exc:
        # Two registrations of one address at once: the unique index lets one in.
        if User.objects.filter(email=email).exists():
            raise ApiError(ErrorCode.EMAIL_ALREADY_REGISTERED) from exc
        raise
    return user


def email_verify(*, token: str, request: HttpRequest) -> SignIn:
    with transaction.atomic():
        row = _email_token_redeem(token, EmailToken.Purpose.VERIFY_EMAIL)
        user = row.user
        if not user.email_verified:
            user.email_verified = True
            user.save(update_fields=["email_verified", "updated_at"])
            security_event_record(type="EMAIL_VERIFIED", user_id=user.id, request=request)
        return sign_in_complete(user=user, request=request, method="email_verification")


def verification_resend(*, email: str, request: HttpRequest) -> None:
    ratelimit.enforce(RESEND_VERIFICATION_LIMIT, _ip(request))
    with transaction.atomic():
        user = User.objects.filter(email=normalise_email(email), is_active=True, email_verified=False).first()
        if user is not None:
            _send_verification(user)


# --- password reset and change ----------------------------------------------------------------
def password_reset_request(*, email: str, request: HttpRequest) -> None:
    ratelimit.enforce(FORGOT_PASSWORD_LIMIT, _ip(request))
    with transaction.atomic():
        user = User.objects.filter(email=normalise_email(email), is_active=True).first()
        if user is None:
            return
        link = _email_token_link(user, EmailToken.Purpose.RESET_PASSWORD, "reset-password")
        mail_enqueue(template="reset_password", recipient=user.email, user=user, context={"name": user.name, "link": link})
        security_event_record(type="PASSWORD_RESET_REQUESTED", user_id=user.id, request=request)


def password_reset_complete(*, token: str, new_password: str, request: HttpRequest) -> None:
    with transaction.atomic():
        row = _email_token_redeem(token, EmailToken.Purpose.RESET_PASSWORD)
        user = row.user
        password_check_strength(new_password, user=user, field="newPassword")
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        _revoke_sessions(user)
        _void_account_links(user)
        lockout_clear(email=user.email)
        security_event_record(type="PASSWORD_RESET_COMPLETED", user_id=user.id, request=request)


def password_change(*, actor: User, current_password: str, new_password: str, session_id: str | None, request: HttpRequest) -> None:
    password_reauthenticate(user=actor, password=current_password, request=request)
    password_check_strength(new_password, user=actor, field="newPassword")
    with transaction.atomic():
        actor.set_password(new_password)
        actor.save(update_fields=["password", "updated_at"])
        _revoke_sessions(actor, keep=session_id)
        _void_account_links(actor)
        security_event_record(type="PASSWORD_CHANGED", user_id=actor.id, request=request)


# --- profile, email change, deletion ----------------------------------------------------------
def profile_update(*, actor: User, request: HttpRequest, **changes: str) -> User:
    fields = [name for name in ("name", "image") if name in changes]
    if fields:
        for name in fields:
            setattr(actor, name, changes[name])
        actor.save(update_fields=[*fields, "updated_at"])
        security_event_record(type="PROFILE_UPDATED", user_id=actor.id, request=request, metadata={"fields": fields})
    return actor


def email_change_request(*, actor: User, new_email: str, password: str, request: HttpRequest) -> None:
    password_reauthenticate(user=actor, password=password, request=request)
    new_email = normalise_email(new_email)
    with transaction.atomic():
        if User.objects.filter(email=new_email).exists():
            raise ApiError(ErrorCode.EMAIL_ALREADY_REGISTERED)
        link = _email_token_link(actor, EmailToken.Purpose.CHANGE_EMAIL, "confirm-email-change", new_email=new_email)
        mail_enqueue(
            template="confirm_email_change",
            recipient=new_email,
            user=actor,
            context={"name": actor.name, "link": link, "new_email": new_email},
        )
        security_event_record(type="EMAIL_CHANGE_REQUESTED", user_id=actor.id, request=request)


def email_change_confirm(*, token: str, request: HttpRequest) -> User:
    try:
        with transaction.atomic():
            row = _email_token_redeem(token, EmailToken.Purpose.CHANGE_EMAIL)
            user = row.user
            old_email = user.email
            user.email = row.new_email
            user.email_verified = True
            user.save(update_fields=["email", "email_verified", "updated_at"])
            _void_account_links(user)
            mail_enqueue(template="email_changed", recipient=old_email, user=user, context={"name": user.name, "new_email": user.email})
            security_event_record(type="EMAIL_CHANGED", user_id=user.id, request=request)
    except IntegrityError as exc:
        raise ApiError(ErrorCode.EMAIL_ALREADY_REGISTERED) from exc
    return user


def account_delete(*, actor: User, password: str, request: HttpRequest) -> None:
    password_reauthenticate(user=actor, password=password, request=request)
    account_erase(user=actor, request=request)


def account_erase(*, user: User, request: HttpRequest | None, event_metadata: dict[str, Any] | None = None) -> None:
    """Remove the user and everything they own, in one transaction. A shared space they are the
    last owner of would be orphaned, so it blocks the deletion until handed over. Their security
    events survive only anonymised, and only if the operator keeps them at all."""
    with transaction.atomic():
        blocking = spaces_blocking_deletion(user=user)
        if blocking:
            names = ", ".join(space.name for space in blocking)
            raise ApiError(ErrorCode.FORBIDDEN, f"The last owner of spaces with other members must hand them over first: {names}.")
        spaces_release(user=user)
        Invitation.objects.filter(email=user.email).delete()
        LoginAttempt.objects.filter(email=user.email).delete()
        LockoutState.objects.filter(email=user.email).delete()
        events = SecurityEvent.objects.filter(user=user)
        if settings.SECURITY_EVENT_RETENTION_DAYS > 0:
            events.update(user=None, ip_address=None, user_agent="", metadata={"anonymised": True})
            security_event_record(type="ACCOUNT_DELETED", request=None, metadata=event_metadata)
        else:
            events.delete()
        user.delete()


# --- two-factor authentication ----------------------------------------------------------------
def _secret_aad(user_id: str) -> bytes:
    return f"totp-secret:{user_id}".encode()


def _backup_code_hash(user_id: str, code: str) -> str:
    normalised = code.strip().lower().replace("-", "").replace(" ", "")
    return token_hash(f"backup-code:{user_id}:{normalised}")


def _new_backup_codes(user: User) -> list[str]:
    """Ten fresh codes (shown once); the old set is void."""
    BackupCode.objects.filter(user=user).delete()
    codes = [f"{secret[:5]}-{secret[5:]}" for secret in (secrets.token_hex(5) for _ in range(BACKUP_CODE_COUNT))]
    BackupCode.objects.bulk_create(BackupCode(user=user, code_hash=_backup_code_hash(user.id, code)) for code in codes)
    return codes


@dataclass(frozen=True)
class TwoFactorEnrollment:
    totp_uri: str
    secret: str
    backup_codes: list[str]


def two_factor_enable(*, actor: User, password: str, request: HttpRequest) -> TwoFactorEnrollment:
    """Step one: a pending secret and backup codes. Nothing changes at sign-in until confirmed."""
    password_reauthenticate(user=actor, password=password, request=request)
    if actor.two_factor_enabled:
        raise ApiError(ErrorCode.VALIDATION, "Two-factor authentication is already on; switch it off first.")
    secret = totp.new_secret()
    with transaction.atomic():
        TwoFactor.objects.update_or_create(
            user=actor,
            defaults={
                "secret_wrapped": get_keyring().wrap_text(secret.encode(), aad=_secret_aad(actor.id)),
                "confirmed_at": None,
                "last_used_step": 0,
            },
        )
        codes = _new_backup_codes(actor)
    return TwoFactorEnrollment(totp_uri=totp.provisioning_uri(secret, actor.email), secret=secret, backup_codes=codes)


def _accept_totp(two_factor: TwoFactor, code: str) -> bool:
    """True for a current code not used before; the row must be locked by the caller."""
    secret = get_keyring().unwrap_text(two_factor.secret_wrapped, aad=_secret_aad(two_factor.user_id)).decode()
    step = totp.matching_step(secret, code.strip())
    if step is None or step <= two_factor.last_used_step:
        return False
    two_factor.last_used_step = step
    two_factor.save(update_fields=["last_used_step"])
    return True


def two_factor_confirm(*, actor: User, code: str, request: HttpRequest) -> None:
    with transaction.atomic():
        pending = TwoFactor.objects.select_for_update().filter(user=actor, confirmed_at__isnull=True).first()
        accepted = pending is not None and _accept_totp(pending, code)
        if accepted and pending is not None:
            pending.confirmed_at = timezone.now()
            pending.save(update_fields=["confirmed_at"])
            User.objects.filter(pk=actor.pk).update(two_factor_enabled=True)
            security_event_record(type="TWO_FACTOR_ENABLED", user_id=actor.id, request=request)
    if not accepted:
        raise ApiError(ErrorCode.TWO_FACTOR_FAILED)


def two_factor_disable(*, actor: User, password: str, request: HttpRequest) -> None:
    password_reauthenticate(user=actor, password=password, request=request)
    with transaction.atomic():
        TwoFactor.objects.filter(user=actor).delete()
        BackupCode.objects.filter(user=actor).delete()
        User.objects.filter(pk=actor.pk).update(two_factor_enabled=False)
        security_event_record(type="TWO_FACTOR_DISABLED", user_id=actor.id, request=request)
        mail_enqueue(template="two_factor_disabled", recipient=actor.email, user=actor, context={"name": actor.name})


def backup_codes_regenerate(*, actor: User, password: str, request: HttpRequest) -> list[str]:
    password_reauthenticate(user=actor, password=password, request=request)
    if not actor.two_factor_enabled:
        raise ApiError(ErrorCode.VALIDATION, "Two-factor authentication is off.")
    with transaction.atomic():
        codes = _new_backup_codes(actor)
        security_event_record(type="BACKUP_CODES_REGENERATED", user_id=actor.id, request=request)
    return codes


def _two_factor_required(user: User, device: DeviceToken | None, *, method: str) -> ApiError:
    """Hand the first factor over to the second: a short-lived token bound to the user (and the
    device the first step came from), answered as TWO_FACTOR_REQUIRED with no tokens."""
    raw = new_token()
    TwoFactorChallenge.objects.create(
        user=user, token_hash=token_hash(raw), device_token=device, method=method, expires_at=timezone.now() + TWO_FACTOR_CHALLENGE_LIFETIME
    )
    return ApiError(ErrorCode.TWO_FACTOR_REQUIRED, extra={"twoFactorToken": raw})


def _second_factor_matches(user: User, code: str | None, backup_code: str | None, request: HttpRequest | None) -> bool:
    if code:
        two_factor = TwoFactor.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
        return two_factor is not None and _accept_totp(two_factor, code)
    if backup_code:
        used = BackupCode.objects.filter(user=user, code_hash=_backup_code_hash(user.id, backup_code), used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if used:
            security_event_record(type="BACKUP_CODE_USED", user_id=user.id, request=request)
            remaining = BackupCode.objects.filter(user=user, used_at__isnull=True).count()
            mail_enqueue(template="backup_code_used", recipient=user.email, user=user, context={"name": user.name, "remaining": remaining})
        return bool(used)
    return False


def _second_factor_attempt(
    raw: str, code: str | None, backup_code: str | None, device_token: str | None, request: HttpRequest
) -> SignIn | ApiError:
    now = timezone.now()
    with transaction.atomic():
        challenge = TwoFactorChallenge.objects.select_for_update().select_related("user").filter(token_hash=token_hash(raw)).first()
        if challenge is None or challenge.used_at is not None or not challenge.user.is_active:
            return ApiError(ErrorCode.TOKEN_INVALID, status=401)
        if challenge.expires_at <= now:
            return ApiError(ErrorCode.TOKEN_EXPIRED)
        user = challenge.user
        state = _lock_state(user.email)
        device = (
            DeviceToken.objects.filter(pk=challenge.device_token_id, revoked_at__isnull=True).first() if challenge.device_token_id else None
        )
        if blocked := _blocked_by_lock(state, device, request, now, method="two_factor"):
            return blocked
        if not _second_factor_matches(user, code, backup_code, request):
            _register_failure(state, user, device, request, now, method="two_factor")
            return ApiError(ErrorCode.TWO_FACTOR_FAILED)
        challenge.used_at = now
        challenge.save(update_fields=["used_at"])
        _record_success(state, device, request, now, method="two_factor")
        return sign_in_complete(user=user, request=request, method=f"{challenge.method}+totp", device_token=device_token)


def two_factor_verify(*, token: str, code: str | None, backup_code: str | None, device_token: str | None, request: HttpRequest) -> SignIn:
    result = _second_factor_attempt(token, code, backup_code, device_token, request)
    if isinstance(result, ApiError):
        raise result
    return result


# --- magic link -------------------------------------------------------------------------------
def magic_link_request(*, email: str, request: HttpRequest) -> None:
    address = normalise_email(email)
    ratelimit.enforce(MAGIC_LINK_IP_LIMIT, _ip(request))
    ratelimit.enforce(MAGIC_LINK_EMAIL_LIMIT, address)
    with transaction.atomic():
        user = User.objects.filter(email=address, is_active=True).first()
        if user is None:
            return
        link = _email_token_link(user, EmailToken.Purpose.MAGIC_LINK, "magic-link")
        mail_enqueue(template="magic_link", recipient=user.email, user=user, context={"name": user.name, "link": link})


def _magic_link_attempt(token: str, device_token: str | None, request: HttpRequest) -> SignIn | ApiError:
    with transaction.atomic():
        row = _email_token_redeem(token, EmailToken.Purpose.MAGIC_LINK)
        user = row.user
        if not user.email_verified:
            # The link reached the mailbox: that is what verification proves.
            User.objects.filter(pk=user.pk).update(email_verified=True)
            user.email_verified = True
            security_event_record(type="EMAIL_VERIFIED", user_id=user.id, request=request, metadata={"method": "magic_link"})
        if user.two_factor_enabled:
            return _two_factor_required(user, _valid_device_token(device_token, user), method="magic_link")
        return sign_in_complete(user=user, request=request, method="magic_link", device_token=device_token)


def magic_link_verify(*, token: str, device_token: str | None, request: HttpRequest) -> SignIn:
    """Signs in whatever the password lock says: the link proves the mailbox, not the password."""
    result = _magic_link_attempt(token, device_token, request)
    if isinstance(result, ApiError):
        raise result
    return result


def two_factor_secrets_rewrap() -> int:
    """Re-wrap TOTP secrets under the active KEK (KEK rotation); returns how many moved."""
    return rewrap_rows(TwoFactor.objects.only("user_id", "secret_wrapped"), "secret_wrapped", lambda row: _secret_aad(row.user_id))


# --- operator actions -------------------------------------------------------------------------
def _admin_event(operator: User, target: User | None, action: str, request: HttpRequest | None, **details: Any) -> None:
    """Every operator action names both people: who did it, to whom."""
    metadata = {"action": action, "operatorId": operator.id, "operatorEmail": operator.email} | details
    if target is not None:
        metadata |= {"targetId": target.id, "targetEmail": target.email}
    security_event_record(type="ADMIN_ACTION", user_id=target.id if target else None, request=request, metadata=metadata)


def admin_unlock(*, operator: User, email: str, request: HttpRequest | None) -> None:
    address = normalise_email(email)
    with transaction.atomic():
        lockout_clear(email=address)
        _admin_event(operator, User.objects.filter(email=address).first(), "unlock", request, email=address)


def admin_revoke_sessions(*, operator: User, target: User, request: HttpRequest | None) -> int:
    with transaction.atomic():
        revoked = _revoke_sessions(target)
        _admin_event(operator, target, "revoke_sessions", request, revoked=revoked)
    return revoked


def admin_force_password_reset(*, operator: User, target: User, request: HttpRequest | None) -> None:
    """The password stops working at once; the user gets a reset link and every session ends."""
    with transaction.atomic():
        target.set_unusable_password()
        target.save(update_fields=["password", "updated_at"])
        _revoke_sessions(target)
        link = _email_token_link(target, EmailToken.Purpose.RESET_PASSWORD, "reset-password")
        mail_enqueue(template="reset_password", recipient=target.email, user=target, context={"name": target.name, "link": link})
        _admin_event(operator, target, "force_password_reset", request)


def admin_disable_two_factor(*, operator: User, target: User, request: HttpRequest | None) -> None:
    with transaction.atomic():
        TwoFactor.objects.filter(user=target).delete()
        BackupCode.objects.filter(user=target).delete()
        User.objects.filter(pk=target.pk).update(two_factor_enabled=False)
        mail_enqueue(template="two_factor_disabled", recipient=target.email, user=target, context={"name": target.name})
        _admin_event(operator, target, "disable_two_factor", request)


def admin_verify_email(*, operator: User, target: User, request: HttpRequest | None) -> None:
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(email_verified=True)
        _admin_event(operator, target, "verify_email", request)


def admin_set_role_and_tier(*, operator: User, target: User, role: str | None, tier: str | None, request: HttpRequest | None) -> None:
    changes = {name: value for name, value in (("role", role), ("tier", tier)) if value is not None}
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(**changes)
        _admin_event(operator, target, "set_role_tier", request, **changes)


def outbox_retry(*, message_ids: list[int]) -> int:
    """Operator's retry: failed or waiting messages become due now and are sent at once."""
    OutboxMessage.objects.filter(pk__in=message_ids).exclude(status=OutboxMessage.Status.SENT).update(
        status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now()
    )
    return sum(1 for message_id in message_ids if deliver(message_id))


def admin_delete_user(*, operator: User, target: User, request: HttpRequest | None) -> None:
    target_id, target_email = target.id, target.email  # the instance loses its pk on delete
    with transaction.atomic():
        account_erase(user=target, request=request, event_metadata={"byOperator": operator.id})
        _admin_event(operator, None, "delete_user", request, targetId=target_id, targetEmail=target_email)


# --- data rights: erasure, settings, onboarding --------------------------------------------------
REAUTHENTICATION_WINDOW = timedelta(minutes=5)
FRESH_STRONG_METHODS = frozenset({"passkey", "password+totp", "magic_link+totp"})


def data_erase(*, actor: User, password: str | None, session_id: str | None, request: HttpRequest) -> None:
    """Erase everything about the caller, who must prove it is them now: the password, or for
    accounts without one a passkey or two-factor sign-in of the last five minutes."""
    if actor.has_usable_password():
        if not password:
            raise ApiError(ErrorCode.REAUTHENTICATION_REQUIRED, "Confirm with your password.")
        password_reauthenticate(user=actor, password=password, request=request)
    else:
        fresh = Session.objects.filter(
            pk=session_id, user=actor, method__in=FRESH_STRONG_METHODS, created_at__gte=timezone.now() - REAUTHENTICATION_WINDOW
        ).exists()
        if not fresh:
            raise ApiError(ErrorCode.REAUTHENTICATION_REQUIRED, "Sign in again with a passkey or two-factor code, then delete.")
    address, name, language = actor.email, actor.name, actor.locale
    with transaction.atomic():
        account_erase(user=actor, request=request)
        mail_enqueue(template="account_deleted", recipient=address, user=None, language=language, context={"name": name})


SETTINGS_MAX_BYTES = 64 * 1024
SETTINGS_MAX_DEPTH = 8
DEFAULT_GLOBAL_SETTINGS: dict[str, Any] = {
    "nav": {"desktopPosition": "top", "sidebarCollapsed": False},
    "theme": {"mode": "system", "colorScheme": "ocean"},
    "locale": "de",
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _checked(document: dict[str, Any], field: str) -> dict[str, Any]:
    if _depth(document) > SETTINGS_MAX_DEPTH:
        raise ApiError(ErrorCode.VALIDATION, fields={field: [f"Nested deeper than {SETTINGS_MAX_DEPTH} levels."]})
    if len(json.dumps(document, separators=(",", ":")).encode()) > SETTINGS_MAX_BYTES:
        raise ApiError(ErrorCode.VALIDATION, fields={field: [f"Larger than {SETTINGS_MAX_BYTES // 1024} KiB."]})
    return document


def _settings_row(actor: User) -> UserSettings:
    row, _ = UserSettings.objects.select_for_update().get_or_create(user=actor)
    return row


def settings_view(*, actor: User) -> dict[str, Any]:
    row = UserSettings.objects.filter(user=actor).first()
    stored_global = row.global_settings if row else {}
    return {"global": merge_patch(DEFAULT_GLOBAL_SETTINGS, stored_global), "apps": row.app_settings if row else {}}


def settings_global_patch(*, actor: User, patch: dict[str, Any]) -> dict[str, Any]:
    with transaction.atomic():
        row = _settings_row(actor)
        row.global_settings = _checked(merge_patch(row.global_settings, patch), "global")
        row.save()
    return settings_view(actor=actor)


def settings_app_patch(*, actor: User, app_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    with transaction.atomic():
        row = _settings_row(actor)
        row.app_settings = {**row.app_settings, app_id: _checked(merge_patch(row.app_settings.get(app_id), patch), app_id)}
        row.save()
        return dict(row.app_settings[app_id])


def settings_app_delete(*, actor: User, app_id: str) -> None:
    with transaction.atomic():
        row = _settings_row(actor)
        row.app_settings = {key: value for key, value in row.app_settings.items() if key != app_id}
        row.save()


def settings_device_patch(*, actor: User, device_id: str, app_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    with transaction.atomic():
        row = _settings_row(actor)
        device = dict(row.device_settings.get(device_id) or {})
        device[app_id] = _checked(merge_patch(device.get(app_id), patch), app_id)
        row.device_settings = {**row.device_settings, device_id: _checked(device, device_id)}
        row.save()
        return dict(device[app_id])


def settings_devices(*, actor: User) -> dict[str, Any]:
    row = UserSettings.objects.filter(user=actor).first()
    return dict(row.device_settings) if row else {}


def settings_device_delete(*, actor: User, device_id: str) -> None:
    with transaction.atomic():
        row = _settings_row(actor)
        if device_id not in row.device_settings:
            raise ApiError(ErrorCode.NOT_FOUND)
        row.device_settings = {key: value for key, value in row.device_settings.items() if key != device_id}
        row.save()


def onboarding_complete(*, actor: User) -> User:
    if actor.onboarding_completed_at is None:
        actor.onboarding_completed_at = timezone.now()
        actor.save(update_fields=["onboarding_completed_at", "updated_at"])
    return actor


def onboarding_reset(*, actor: User) -> User:
    actor.onboarding_completed_at = None
    actor.save(update_fields=["onboarding_completed_at", "updated_at"])
    return actor
