"""Passwords: strength, checking one (at the cost of a hash even for unknown users),
re-authentication before sensitive changes, reset by mail and change."""

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import EmailToken, User
from accounts.services.email_links import account_links_void, email_link_redeem, reset_link_mail
from accounts.services.lockout import failure_register, lock_state, locked, lockout_clear
from accounts.services.sessions import sessions_revoke_all
from core import ratelimit
from core.errors import ApiError, ErrorCode
from core.origin import Origin
from core.ratelimit import Limit
from core.secrets import new_token
from core.services import security_event_record
from core.text import normalise_email
from mail.services import mail_enqueue

PASSWORD_MAX_LENGTH = 128
FORGOT_PASSWORD_LIMIT = Limit("forgot-password", 5, 900, fail_closed=True)
REAUTH_WHILE_LOCKED_LIMIT = Limit("reauth-locked", 10, 900, fail_closed=True)


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


def password_matches(user: User | None, password: str) -> bool:
    if user is None or not user.is_active or not user.has_usable_password():
        _spend_hashing_time(password)
        return False
    # check_password re-hashes with the preferred hasher (PBKDF2 → Argon2id) on success.
    return user.check_password(password)


def password_reauthenticate(*, user: User, password: str, origin: Origin, method: str = "reauth") -> None:
    """Confirm a signed-in user's password before a sensitive change. A wrong password is a
    credential failure like at sign-in: it counts toward the lockout. The lock does not refuse
    the right password here (the owner must be able to secure the account while a stranger
    guesses at sign-in), but guesses during it are limited per user."""
    with transaction.atomic():
        state = lock_state(user.email)
        now = timezone.now()
        if locked(state, now):
            ratelimit.enforce(REAUTH_WHILE_LOCKED_LIMIT, user.id)
        if password_matches(user, password):
            return
        failure_register(state, user, None, origin, now, method=method)
    raise ApiError(ErrorCode.INVALID_CREDENTIALS)


def password_end_on_mailbox_proof(*, user: User, origin: Origin, method: str) -> None:
    """The first proof of the mailbox ends the password set before it, and every session: whoever
    registered the address may not have owned it (a pre-account hijack). The owner is told and
    sets a password of their own by reset. Run inside the verifying transaction, before its sign-in."""
    had_password = user.has_usable_password()
    if had_password:
        user.set_unusable_password()
        user.save(update_fields=["password", "updated_at"])
    ended = sessions_revoke_all(user=user)
    if not had_password and not ended:
        return
    security_event_record(
        type="PASSWORD_REMOVED_ON_VERIFICATION", user_id=user.id, origin=origin, metadata={"method": method, "sessionsEnded": ended}
    )
    mail_enqueue(template="password_removed_on_verification", recipient=user.email, user=user, context={"name": user.name})


def password_reset_request(*, email: str, origin: Origin, return_to: str | None = None) -> None:
    """Mail a reset link: to this service's page, or with `return_to` (a trusted target) to the
    caller's own reset page."""
    ratelimit.enforce(FORGOT_PASSWORD_LIMIT, origin.ip_key)
    with transaction.atomic():
        user = User.objects.filter(email=normalise_email(email), is_active=True).first()
        if user is None:
            return
        reset_link_mail(user, return_to=return_to)
        security_event_record(type="PASSWORD_RESET_REQUESTED", user_id=user.id, origin=origin)


def password_reset_complete(*, token: str, new_password: str, origin: Origin) -> None:
    with transaction.atomic():
        row = email_link_redeem(token, EmailToken.Purpose.RESET_PASSWORD)
        user = row.user
        password_check_strength(new_password, user=user, field="newPassword")
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        sessions_revoke_all(user=user)
        account_links_void(user)
        lockout_clear(email=user.email)
        security_event_record(type="PASSWORD_RESET_COMPLETED", user_id=user.id, origin=origin)


def password_change(*, actor: User, current_password: str, new_password: str, session_id: str | None, origin: Origin) -> None:
    password_reauthenticate(user=actor, password=current_password, origin=origin)
    password_check_strength(new_password, user=actor, field="newPassword")
    with transaction.atomic():
        actor.set_password(new_password)
        actor.save(update_fields=["password", "updated_at"])
        sessions_revoke_all(user=actor, keep=session_id)
        account_links_void(actor)
        security_event_record(type="PASSWORD_CHANGED", user_id=actor.id, origin=origin)
