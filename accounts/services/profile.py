"""The user's own profile and a change of address (confirmed from the new mailbox)."""

from django.db import IntegrityError, transaction

from accounts.models import EmailToken, User
from accounts.services.email_links import account_links_void, email_link_create, email_link_redeem
from accounts.services.passwords import password_reauthenticate
from core.errors import ApiError, ErrorCode
from core.origin import Origin
from core.services import security_event_record
from core.text import normalise_email
from mail.services import mail_enqueue


def profile_update(*, actor: User, origin: Origin, **changes: str) -> User:
    fields = [name for name in ("name", "image") if name in changes]
    if fields:
        for name in fields:
            setattr(actor, name, changes[name])
        actor.save(update_fields=[*fields, "updated_at"])
        security_event_record(type="PROFILE_UPDATED", user_id=actor.id, origin=origin, metadata={"fields": fields})
    return actor


def email_change_request(*, actor: User, new_email: str, password: str, origin: Origin) -> None:
    password_reauthenticate(user=actor, password=password, origin=origin)
    new_email = normalise_email(new_email)
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
