"""The user's own profile, a change of address (confirmed from the new mailbox), and the proof
of identity that address changes and erasure ask for."""

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import EmailToken, Session, User
from accounts.services.email_links import account_links_void, email_link_create, email_link_redeem
from accounts.services.passwords import password_reauthenticate
from accounts.services.two_factor import totp_code_accept
from core import ratelimit
from core.errors import ApiError, ErrorCode
from core.origin import Origin
from core.ratelimit import Limit
from core.services import security_event_record
from core.text import normalise_email
from mail.services import mail_enqueue

# PLATFORM.md §5/§13: the web app sends no password; a sign-in this recent is proof enough.
REAUTHENTICATION_WINDOW = timedelta(minutes=15)
EMAIL_CHANGE_USER_LIMIT = Limit("email-change-user", 5, 3600)
EMAIL_CHANGE_TARGET_LIMIT = Limit("email-change-target", 3, 3600)
# Guesses at a TOTP code sent as a proof: a stolen token must not try a million of them.
PROOF_CODE_LIMIT = Limit("credential-proof-code", 5, 900, fail_closed=True)


def identity_confirm(*, actor: User, password: str | None, session_id: str | None, origin: Origin) -> None:
    """A password, when given, is checked (and a wrong one counts like any failed password).
    Without one, the caller's session must have signed in within the window."""
    if password is not None:
        password_reauthenticate(user=actor, password=password, origin=origin)
        return
    fresh = Session.objects.active().filter(pk=session_id, user=actor, created_at__gte=timezone.now() - REAUTHENTICATION_WINDOW).exists()
    if not fresh:
        raise ApiError(ErrorCode.REAUTHENTICATION_REQUIRED, "Please sign in again, then try once more.")


def credential_proof(*, actor: User, password: str | None, code: str | None, origin: Origin) -> bool:
    """Whether the request proves more than its token: the current password, or a current TOTP
    code. A wrong proof is refused (a wrong password counts toward the lockout); none is False."""
    if password is not None:
        password_reauthenticate(user=actor, password=password, origin=origin)
        return True
    if code is None:
        return False
    ratelimit.enforce(PROOF_CODE_LIMIT, actor.id)
    with transaction.atomic():
        if not totp_code_accept(actor, code):
            raise ApiError(ErrorCode.TWO_FACTOR_FAILED)
    return True


def profile_update(
    *, actor: User, origin: Origin, name: str | None = None, image: str | None = None, feedback_show_real_name: bool | None = None
) -> User:
    changes: dict[str, Any] = {"name": name, "image": image, "feedback_show_real_name": feedback_show_real_name}
    fields = [field for field, value in changes.items() if value is not None]
    if fields:
        for field in fields:
            setattr(actor, field, changes[field])
        actor.save(update_fields=[*fields, "updated_at"])
        security_event_record(type="PROFILE_UPDATED", user_id=actor.id, origin=origin, metadata={"fields": fields})
    return actor


def email_change_request(*, actor: User, new_email: str, password: str | None, origin: Origin, session_id: str | None = None) -> None:
    identity_confirm(actor=actor, password=password, session_id=session_id, origin=origin)
    new_email = normalise_email(new_email)
    # Before the lookup: each try mails a stranger's mailbox or answers "registered".
    ratelimit.enforce(EMAIL_CHANGE_USER_LIMIT, actor.id)
    ratelimit.enforce(EMAIL_CHANGE_TARGET_LIMIT, new_email)
    with transaction.atomic():
        if User.objects.filter(email=new_email).exists():
            raise ApiError(ErrorCode.EMAIL_ALREADY_REGISTERED)
        link = email_link_create(actor, EmailToken.Purpose.CHANGE_EMAIL, "confirm-email-change", new_email=new_email)
        mail_enqueue(
            template="confirm_email_change",
            recipient=new_email,
            user=actor,
            context={"name": actor.name, "link": link, "new_email": new_email},
        )
        security_event_record(type="EMAIL_CHANGE_REQUESTED", user_id=actor.id, origin=origin)


def email_change_confirm(*, token: str, origin: Origin) -> User:
    try:
        with transaction.atomic():
            row = email_link_redeem(token, EmailToken.Purpose.CHANGE_EMAIL)
            user = row.user
            old_email = user.email
            user.email = row.new_email
            user.email_verified = True
            user.save(update_fields=["email", "email_verified", "updated_at"])
            account_links_void(user)
            mail_enqueue(template="email_changed", recipient=old_email, user=user, context={"name": user.name, "new_email": user.email})
            security_event_record(type="EMAIL_CHANGED", user_id=user.id, origin=origin)
    except IntegrityError as exc:
        raise ApiError(ErrorCode.EMAIL_ALREADY_REGISTERED) from exc
    return user
