"""Erasure of an account: by its owner (after proving it is them) or by an operator. Every app
erases its own part through the personal-data registry; shared spaces block it until handed over."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import STRONG_SIGN_IN_METHODS, LockoutState, LoginAttempt, Session, User
from accounts.services.passwords import password_reauthenticate
from core import personal_data
from core.errors import ApiError, ErrorCode
from core.models import SecurityEvent
from core.origin import NO_ORIGIN, Origin
from core.services import security_event_record
from mail.services import mail_enqueue

REAUTHENTICATION_WINDOW = timedelta(minutes=5)


def account_delete(*, actor: User, password: str | None, session_id: str | None, origin: Origin) -> None:
    """The owner erases their account and is told by mail. They prove it is them now: by the
    password, or for accounts without one by a passkey or two-factor sign-in of the last five
    minutes."""
    if actor.has_usable_password():
        if not password:
            raise ApiError(ErrorCode.REAUTHENTICATION_REQUIRED, "Confirm with your password.")
        password_reauthenticate(user=actor, password=password, origin=origin)
    else:
        fresh = Session.objects.filter(
            pk=session_id, user=actor, method__in=STRONG_SIGN_IN_METHODS, created_at__gte=timezone.now() - REAUTHENTICATION_WINDOW
        ).exists()
        if not fresh:
            raise ApiError(ErrorCode.REAUTHENTICATION_REQUIRED, "Sign in again with a passkey or two-factor code, then delete.")
    address, name, language = actor.email, actor.name, actor.locale
    with transaction.atomic():
        account_erase(user=actor)
        mail_enqueue(template="account_deleted", recipient=address, user=None, language=language, context={"name": name})


def account_erase(*, user: User, event_metadata: dict[str, Any] | None = None) -> None:
    """Remove the user and everything they own, in one transaction. What another app keeps that
    would be orphaned (a shared space they are the last owner of) blocks it. Their security
    events survive only anonymised, and only if the operator keeps them at all."""
    with transaction.atomic():
        if blocking := personal_data.erasure_blockers(user):
            raise ApiError(ErrorCode.FORBIDDEN, " ".join(blocking))
        personal_data.erase(user)
        LoginAttempt.objects.filter(email=user.email).delete()
        LockoutState.objects.filter(email=user.email).delete()
        events = SecurityEvent.objects.filter(user=user)
        if settings.SECURITY_EVENT_RETENTION_DAYS > 0:
            events.update(user=None, ip_address=None, user_agent="", metadata={"anonymised": True})
            security_event_record(type="ACCOUNT_DELETED", origin=NO_ORIGIN, metadata=event_metadata)
        else:
            events.delete()
        user.delete()
