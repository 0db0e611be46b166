"""Erasure of an account: by its owner (after proving it is them) or by an operator. Every app
erases its own part through the personal-data registry; shared spaces block it until handed over.
The credits service erases its part when asked, right after ours is gone (PLATFORM.md §10)."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import LockoutState, LoginAttempt, Session, User
from accounts.services.profile import identity_confirm
from core import personal_data
from core.errors import ApiError, ErrorCode
from core.models import SecurityEvent
from core.origin import NO_ORIGIN, Origin
from core.services import security_event_record
from mail.services import credits_balance_path, credits_delete, mail_enqueue, service_call_enqueue, service_configured

CREDITS = "credits"


def account_delete(*, actor: User, password: str | None, session_id: str | None, origin: Origin) -> dict[str, Any]:
    """The owner erases their account and is told by mail. They prove it is them now: by the
    password when they send one, else by a sign-in of the last minutes (PLATFORM.md §13)."""
    identity_confirm(actor=actor, password=password, session_id=session_id, origin=origin)
    address, name, language = actor.email, actor.name, actor.locale
    return account_erase(
        user=actor,
        also=lambda: mail_enqueue(template="account_deleted", recipient=address, user=None, language=language, context={"name": name}),
    )


def account_erase(*, user: User, event_metadata: dict[str, Any] | None = None, also: Callable[[], object] | None = None) -> dict[str, Any]:
    """Remove the user and everything they own, in one transaction (with `also`, the caller's own
    writes: its mail, its audit event). What another app keeps that would be orphaned (a shared
    space they are the last owner of) blocks it. Their security events survive only anonymised,
    and only if the operator keeps them at all. Then credits is asked to erase its part; the
    answer is PLATFORM.md §5's, for the owner and the operator alike."""
    user_id = user.id
    sessions = Session.objects.filter(user=user).count()
    # The only kind of "account" (sign-in method row) this service has is the password.
    accounts = 1 if user.has_usable_password() else 0
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
        if also is not None:
            also()
    projects, credits = _credits_erase(user_id)
    return {
        "success": True,
        "deletedFromProjects": projects,
        "deletedFromAuth": {"sessions": sessions, "accounts": accounts, "credits": credits, "user": True},
        "totalDeleted": sessions + accounts + credits + 1,
    }


def _credits_erase(user_id: str) -> tuple[list[dict[str, Any]], int]:
    """After our commit, so a refused erasure never costs the user their credits. A failed call
    is shown as failed and queued for retry (the credits service's delete is idempotent)."""
    if not service_configured(CREDITS):
        return [], 0
    deleted = credits_delete(user_id)
    if deleted is not None:
        return [], deleted
    service_call_enqueue(target=CREDITS, method="DELETE", path=credits_balance_path(user_id))
    return [{"projectId": CREDITS, "projectName": "Credits", "success": False, "error": "The credits service did not answer; retrying."}], 0
