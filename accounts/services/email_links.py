"""Single-use links sent by mail (verify, reset, change of address, magic link)."""

from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.utils import timezone

from accounts.models import EmailToken, User
from core.errors import ApiError, ErrorCode
from core.secrets import new_token, token_hash
from mail.services import mail_enqueue

TOKEN_LIFETIMES: dict[str, timedelta] = {
    EmailToken.Purpose.VERIFY_EMAIL: timedelta(hours=24),
    EmailToken.Purpose.RESET_PASSWORD: timedelta(hours=1),
    EmailToken.Purpose.CHANGE_EMAIL: timedelta(hours=24),
    EmailToken.Purpose.MAGIC_LINK: timedelta(minutes=10),
}
# Links that can take over an account: a change of password or address voids those still open,
# so a reset link sent to an old mailbox cannot be used after the address moved.
ACCOUNT_TAKEOVER_PURPOSES = (EmailToken.Purpose.RESET_PASSWORD, EmailToken.Purpose.CHANGE_EMAIL, EmailToken.Purpose.MAGIC_LINK)


def _email_token_create(user: User, purpose: str, *, new_email: str = "") -> str:
    raw = new_token()
    now = timezone.now()
    # A new token of a purpose voids the older ones: only the latest link works.
    EmailToken.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(used_at=now)
    EmailToken.objects.create(
        user=user, purpose=purpose, token_hash=token_hash(raw), new_email=new_email, expires_at=now + TOKEN_LIFETIMES[purpose]
    )
    return raw


def email_link_create(user: User, purpose: str, page: str, *, new_email: str = "", query: dict[str, str] | None = None) -> str:
    token = _email_token_create(user, purpose, new_email=new_email)
    return f"{settings.BASE_URL}/{page}?{urlencode({'token': token, **(query or {})})}"


def email_link_redeem(raw: str, purpose: str) -> EmailToken:
    """Mark a mailed token used (row-locked: a token works once, even under concurrency)."""
    row = EmailToken.objects.select_for_update().select_related("user").filter(token_hash=token_hash(raw), purpose=purpose).first()
    if row is None or row.used_at is not None or not row.user.is_active:
        raise ApiError(ErrorCode.TOKEN_INVALID)
    if row.expires_at <= timezone.now():
        raise ApiError(ErrorCode.TOKEN_EXPIRED)
    row.used_at = timezone.now()
    row.save(update_fields=["used_at"])
    return row


def account_links_void(user: User) -> None:
    EmailToken.objects.filter(user=user, purpose__in=ACCOUNT_TAKEOVER_PURPOSES, used_at__isnull=True).update(used_at=timezone.now())


def reset_page_link(return_to: str, token: str) -> str:
    """The platform's rule: a bare origin gets /reset-password appended, a full URL is kept."""
    target = f"{return_to.rstrip('/')}/reset-password" if urlsplit(return_to).path in ("", "/") else return_to
    separator = "&" if "?" in target else "?"
    return f"{target}{separator}{urlencode({'token': token})}"


def reset_link_mail(user: User, *, template: str = "reset_password", return_to: str | None = None) -> None:
    """Mail the user a fresh password-reset link (the reset itself, or a lock notice with it), to
    this service's page or, with `return_to`, to the caller's."""
    if return_to is None:
        link = email_link_create(user, EmailToken.Purpose.RESET_PASSWORD, "reset-password")
    else:
        link = reset_page_link(return_to, _email_token_create(user, EmailToken.Purpose.RESET_PASSWORD))
    mail_enqueue(template=template, recipient=user.email, user=user, context={"name": user.name, "link": link})
