"""Registration (with the daily cap) and email verification."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import EmailToken, SignupDay, User
from accounts.services.email_links import email_link_create, email_link_redeem
from accounts.services.passwords import password_check_strength, password_end_on_mailbox_proof
from accounts.services.tokens import SignIn, sign_in_complete
from accounts.services.two_factor import two_factor_challenge_start
from core import personal_data, ratelimit
from core.errors import ApiError, ErrorCode
from core.origin import Origin
from core.ratelimit import Limit
from core.services import security_event_record
from core.text import normalise_email
from mail.services import mail_enqueue

REGISTER_LIMIT = Limit("register", 10, 3600, fail_closed=True)
RESEND_VERIFICATION_LIMIT = Limit("resend-verification", 5, 900, fail_closed=True)


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


def _send_verification(user: User, return_to: str | None) -> None:
    """The link opens this service's page, or with `return_to` (a trusted target) verifies and
    returns there (the platform's web apps)."""
    if return_to is None:
        link = email_link_create(user, EmailToken.Purpose.VERIFY_EMAIL, "verify-email")
    else:
        link = email_link_create(user, EmailToken.Purpose.VERIFY_EMAIL, "api/auth/verify-email", query={"callbackURL": return_to})
    mail_enqueue(template="verify_email", recipient=user.email, user=user, context={"name": user.name, "link": link})


def user_register(*, email: str, password: str, name: str, language: str, origin: Origin, return_to: str | None = None) -> User:
    ratelimit.enforce(REGISTER_LIMIT, origin.ip_key)
    email = normalise_email(email)
    password_check_strength(password, user=User(email=email, name=name))
    try:
        with transaction.atomic():
            if User.objects.filter(email=email).exists():
                raise ApiError(ErrorCode.EMAIL_ALREADY_REGISTERED)
            _count_signup()
            user = User.objects.create_user(email, password, name=name, locale=language)
            # What other apps make for every user (the personal space), in this transaction.
            personal_data.user_created(user)
            _send_verification(user, return_to)
            security_event_record(type="REGISTER", user_id=user.id, origin=origin)
    except IntegrityError as exc:
        # Two registrations of one address at once: the unique index lets one in.
        if User.objects.filter(email=email).exists():
            raise ApiError(ErrorCode.EMAIL_ALREADY_REGISTERED) from exc
        raise
    return user


def _registration_link(row: EmailToken) -> bool:
    """The link mailed by the registration itself (the user's first): its clicker confirms the
    sign-up they made with that password. A link asked for again proves the mailbox only."""
    first = EmailToken.objects.filter(user_id=row.user_id, purpose=EmailToken.Purpose.VERIFY_EMAIL).order_by("created_at", "pk").first()
    return first is not None and first.pk == row.pk


def _email_verify_attempt(token: str, origin: Origin) -> SignIn | ApiError:
    """Returns the second-factor hand-off instead of raising it, so the verification commits."""
    with transaction.atomic():
        row = email_link_redeem(token, EmailToken.Purpose.VERIFY_EMAIL)
        user = row.user
        if not user.email_verified:
            user.email_verified = True
            user.save(update_fields=["email_verified", "updated_at"])
            security_event_record(type="EMAIL_VERIFIED", user_id=user.id, origin=origin)
            if not _registration_link(row):
                password_end_on_mailbox_proof(user=user, origin=origin, method="email_verification")
        if user.two_factor_enabled:
            # A link still open when 2FA went on verifies, but signs in only past the second factor.
            return two_factor_challenge_start(user, None, method="email_verification")
        return sign_in_complete(user=user, origin=origin, method="email_verification")


def email_verify(*, token: str, origin: Origin) -> SignIn:
    """Verifies and signs in; a two-factor user gets TWO_FACTOR_REQUIRED with a twoFactorToken
    (as the magic link does)."""
    result = _email_verify_attempt(token, origin)
    if isinstance(result, ApiError):
        raise result
    return result


def verification_resend(*, email: str, origin: Origin, return_to: str | None = None) -> None:
    ratelimit.enforce(RESEND_VERIFICATION_LIMIT, origin.ip_key)
    with transaction.atomic():
        user = User.objects.filter(email=normalise_email(email), is_active=True, email_verified=False).first()
        if user is not None:
            _send_verification(user, return_to)
