"""Operator actions: each one is the accounts service that does the act, plus an ADMIN_ACTION
event naming both people, who did it and to whom."""

from typing import Any

from django.db import transaction

from accounts.models import User
from accounts.services.data_rights import account_erase
from accounts.services.email_links import reset_link_mail
from accounts.services.lockout import lockout_clear
from accounts.services.sessions import sessions_revoke_all
from accounts.services.two_factor import two_factor_remove
from core.origin import Origin
from core.services import security_event_record
from core.text import normalise_email


def _admin_event(operator: User, target: User | None, action: str, origin: Origin, **details: Any) -> None:
    metadata = {"action": action, "operatorId": operator.id, "operatorEmail": operator.email} | details
    if target is not None:
        metadata |= {"targetId": target.id, "targetEmail": target.email}
    security_event_record(type="ADMIN_ACTION", user_id=target.id if target else None, origin=origin, metadata=metadata)


def lockout_release(*, operator: User, email: str, origin: Origin) -> None:
    address = normalise_email(email)
    with transaction.atomic():
        lockout_clear(email=address)
        _admin_event(operator, User.objects.filter(email=address).first(), "unlock", origin, email=address)


def user_sessions_revoke(*, operator: User, target: User, origin: Origin) -> int:
    with transaction.atomic():
        revoked = sessions_revoke_all(user=target)
        _admin_event(operator, target, "revoke_sessions", origin, revoked=revoked)
    return revoked


def user_password_reset_force(*, operator: User, target: User, origin: Origin) -> None:
    """The password stops working at once; the user gets a reset link and every session ends."""
    with transaction.atomic():
        target.set_unusable_password()
        target.save(update_fields=["password", "updated_at"])
        sessions_revoke_all(user=target)
        reset_link_mail(target)
        _admin_event(operator, target, "force_password_reset", origin)


def user_two_factor_disable(*, operator: User, target: User, origin: Origin) -> None:
    with transaction.atomic():
        two_factor_remove(user=target)
        _admin_event(operator, target, "disable_two_factor", origin)


def user_email_verify(*, operator: User, target: User, origin: Origin) -> None:
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(email_verified=True)
        _admin_event(operator, target, "verify_email", origin)


def user_role_tier_set(*, operator: User, target: User, role: str | None, tier: str | None, origin: Origin) -> None:
    changes = {name: value for name, value in (("role", role), ("tier", tier)) if value is not None}
    with transaction.atomic():
        User.objects.filter(pk=target.pk).update(**changes)
        _admin_event(operator, target, "set_role_tier", origin, **changes)


def user_erase(*, operator: User, target: User, origin: Origin) -> dict[str, Any]:
    """The erasure's answer is the owner's own (PLATFORM.md §6)."""
    target_id, target_email = target.id, target.email  # the instance loses its pk on delete
    return account_erase(
        user=target,
        event_metadata={"byOperator": operator.id},
        also=lambda: _admin_event(operator, None, "delete_user", origin, targetId=target_id, targetEmail=target_email),
    )
