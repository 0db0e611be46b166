"""Sign-in by a link mailed to the address: it works while password sign-in is locked, and still
asks for the second factor."""

from django.db import transaction

from accounts.models import EmailToken, User
from accounts.services.email_links import TOKEN_LIFETIMES, email_link_create, email_link_redeem
from accounts.services.passwords import password_end_on_mailbox_proof
from accounts.services.tokens import SignIn, device_token_valid, sign_in_complete
from accounts.services.two_factor import two_factor_challenge_start
from core import ratelimit
from core.errors import ApiError
from core.origin import Origin
from core.ratelimit import Limit
from core.services import security_event_record
from core.text import normalise_email
from mail.services import mail_enqueue

MAGIC_LINK_IP_LIMIT = Limit("magic-link-ip", 5, 900, fail_closed=True)
# Per requester (the address from one client IP): a stranger spends their own budget, not the owner's.
MAGIC_LINK_REQUESTER_LIMIT = Limit("magic-link-requester", 3, 900, fail_closed=True)
# Per mailbox, and silent: it caps the mail a mailbox gets, never the owner's way in. Once it is
# reached, the last link mailed in the window still works (the window is no longer than a link
# lives, and only a newer link voids it), so every request keeps a working link in the mailbox.
MAGIC_LINK_MAILBOX_LIMIT = Limit(
    "magic-link-mailbox", 10, int(TOKEN_LIFETIMES[EmailToken.Purpose.MAGIC_LINK].total_seconds()), fail_closed=True
)


def magic_link_request(*, email: str, origin: Origin, callback_url: str | None = None) -> None:
    """Mail a sign-in link. Without `callback_url` it opens this service's page; with one (the
    platform's door) it signs the browser in and returns to `callback_url`, a trusted target."""
    address = normalise_email(email)
    ratelimit.enforce(MAGIC_LINK_IP_LIMIT, origin.ip_key)
    ratelimit.enforce(MAGIC_LINK_REQUESTER_LIMIT, f"{address}|{origin.ip_key}")
    if not ratelimit.hit(MAGIC_LINK_MAILBOX_LIMIT, address).allowed:
        return  # answered like a sent link: the mailbox already holds one that works
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
            # The link reached the mailbox: that is what verification proves, and all it proves.
            User.objects.filter(pk=user.pk).update(email_verified=True)
            user.email_verified = True
            security_event_record(type="EMAIL_VERIFIED", user_id=user.id, origin=origin, metadata={"method": "magic_link"})
            password_end_on_mailbox_proof(user=user, origin=origin, method="magic_link")
        if user.two_factor_enabled:
            return two_factor_challenge_start(user, device_token_valid(device_token, user), method="magic_link")
        return sign_in_complete(user=user, origin=origin, method="magic_link", device_token=device_token)


def magic_link_verify(*, token: str, device_token: str | None, origin: Origin) -> SignIn:
    """Signs in whatever the password lock says: the link proves the mailbox, not the password."""
    result = _magic_link_attempt(token, device_token, origin)
    if isinstance(result, ApiError):
        raise result
    return result
