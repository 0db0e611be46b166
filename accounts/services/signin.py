"""Password sign-in: one attempt under the address's row lock, then tokens or the second step."""

from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.services.lockout import blocked_by_lock, failure_register, lock_state_with_account, service_error_record, success_writes
from accounts.services.passwords import password_matches
from accounts.services.tokens import UNNAMED, Device, SignIn, device_token_valid, sign_in_complete
from accounts.services.two_factor import two_factor_challenge_start
from core import ratelimit
from core.errors import ApiError, ErrorCode
from core.origin import Origin
from core.ratelimit import Limit
from core.text import normalise_email

LOGIN_LIMIT = Limit("login", 30, 60, fail_closed=True)


def _password_attempt(
    email: str, password: str, device_token: str | None, origin: Origin, named: Device, resume_session_id: str | None
) -> SignIn | ApiError:
    """One password attempt under the email's row lock. Returns the error instead of raising it,
    so the attempt, lock and events it wrote commit with the transaction."""
    now = timezone.now()
    with transaction.atomic():
        state, user = lock_state_with_account(email)
        device = device_token_valid(device_token, user)
        if blocked := blocked_by_lock(state, device, origin, now, method="password"):
            return blocked
        if not password_matches(user, password) or user is None:
            failure_register(state, user, device, origin, now, method="password")
            return ApiError(ErrorCode.INVALID_CREDENTIALS)
        if not user.email_verified:
            return ApiError(ErrorCode.EMAIL_NOT_VERIFIED)
        if user.two_factor_enabled:
            # The password was right; the sign-in completes at /two-factor/verify.
            return two_factor_challenge_start(user, device, method="password")
        return sign_in_complete(
            user=user,
            origin=origin,
            method="password",
            device_token=device_token if device else None,  # an unknown token was looked up above: not again
            device=device,
            named=named,
            resume_session_id=resume_session_id,
            along=success_writes(state, device, origin, now, method="password"),
        )


def password_sign_in(
    *,
    email: str,
    password: str,
    device_token: str | None,
    origin: Origin,
    named: Device = UNNAMED,
    resume_session_id: str | None = None,
) -> SignIn:
    ratelimit.enforce(LOGIN_LIMIT, origin.ip_key)
    try:
        result = _password_attempt(normalise_email(email), password, device_token, origin, named, resume_session_id)
    except DatabaseError:
        service_error_record(origin, "login")
        raise
    if isinstance(result, ApiError):
        raise result
    return result
