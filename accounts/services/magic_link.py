"""Sign-in by a link mailed to the address: it works while password sign-in is locked, and still
asks for the second factor."""

from django.db import transaction

from accounts.models import EmailToken, User
from accounts.services.email_links import email_link_create, email_link_redeem
from accounts.services.tokens import SignIn, device_token_valid, sign_in_complete
from accounts.services.two_factor import two_factor_challenge_start
from core import ratelimit
from core.errors import ApiError
from core.origin import Origin
from core.ratelimit import Limit
from core.services import security_event_record
from core.text import normalise_email
from mail.services import mail_enqueue

MAGIC_LINK_IP_LIMIT = Limit("magic-link-ip", 5, 900)
MAGIC_LINK_EMAIL_LIMIT = Limit("magic-link-email", 3, 900)


def magic_link_request(*, email: str, origin: Origin, callback_url: str | None = None) -> None:
    """Mail a sign-in link. Without `callback_url` it opens this service's page; with one (the
    platform's door) it signs the browser in and returns to `callback_url`, a trusted target."""
    address = normalise_email(email)
    ratelimit.enforce(MAGIC_LINK_IP_LIMIT, origin.ip_key)
    ratelimit.enforce(MAGIC_LINK_EMAIL_LIMIT, address)
    with transaction.atomic():
        user = User.objects.filter(email=address, is_active=True).first()
        if user is None:
            return
        if callback_url is None:
            link = email_link_create(user, EmailToken.Purpose.MAGIC_LINK, "magic-link")
        else:
            link = email_link_create(user, EmailToken.Purpose.MAGIC_LINK, "api/auth/magic-link/verify", query={"callbackURL": callback_url})
        mail_enqueue(template="magic_link", recipient=user.email, user=user, context={"name": user.name, "link": link})


def _magic_link_attempt(token: str, device_token: str | None, origin: Origin) -> SignIn | ApiError:
    with transaction.atomic():
        row = email_link_redeem(token, EmailToken.Purpose.MAGIC_LINK)
        user = row.user
        if not user.email_verified:
            # The link reached the mailbox: that is what verification proves.
            User.objects.filter(pk=user.pk).update(email_verified=True)
            user.email_verified = True
            security_event_record(type="EMAIL_VERIFIED", user_id=user.id, origin=origin, metadata={"method": "magic_link"})
        if user.two_factor_enabled:
            return two_factor_challenge_start(user, device_token_valid(device_token, user), method="magic_link")
        return sign_in_complete(user=user, origin=origin, method="magic_link", device_token=device_token)


def magic_link_verify(*, token: str, device_token: str | None, origin: Origin) -> SignIn:
    """Signs in whatever the password lock says: the link proves the mailbox, not the password."""
    result = _magic_link_attempt(token, device_token, origin)
    if isinstance(result, ApiError):
        raise result
    return result
