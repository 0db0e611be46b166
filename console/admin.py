"""The operator console's composed user admin: the user with their sessions, passkeys, spaces,
security events and vault, and every change as an operator action (console.services)."""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts import selectors
from accounts.models import LockoutState, Role, Session, Tier, User
from console import services
from core.admin import ReadOnlyAdmin, ReadOnlyInline
from core.models import SecurityEvent
from core.origin import Origin, origin_of
from passkeys.models import Passkey
from spaces.models import Membership
from vault.selectors import vault_audit_trail, vault_metadata


def _operator(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # noqa: S101 - the admin site admits signed-in staff only
    return request.user


def _for_each(action: Callable[..., Any], name: str, description: str) -> Callable[[Any, HttpRequest, QuerySet[User]], None]:
    """An admin action that calls one service per selected user."""

    def run(model_admin: Any, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for target in queryset:
            action(operator=_operator(request), target=target, origin=origin_of(request))
        model_admin.message_user(request, f"{description}: {queryset.count()}", messages.SUCCESS)

    run.__name__ = name
    run.short_description = description  # type: ignore[attr-defined]
    return run


class LockedNowFilter(admin.SimpleListFilter):
    title = "locked now"
    parameter_name = "locked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Locked"), ("no", "Not locked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        locked = selectors.locked_now().values("email")
        if self.value() == "yes":
            return queryset.filter(email__in=locked)
        if self.value() == "no":
            return queryset.exclude(email__in=locked)
        return queryset


class SessionInline(ReadOnlyInline):
    model = Session
    fields = ("created_at", "last_seen_at", "method", "ip_address", "user_agent", "expires_at", "revoked_at")
    readonly_fields = fields
    ordering = ("-created_at",)


class PasskeyInline(ReadOnlyInline):
    model = Passkey
    fields = ("name", "created_at", "last_used_at", "device_type", "backed_up", "aaguid")  # no key material
    readonly_fields = fields


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = ("space", "role", "created_at")
    readonly_fields = fields


class SecurityEventInline(ReadOnlyInline):
    model = SecurityEvent
    fields = ("created_at", "type", "ip_address", "metadata")
    readonly_fields = fields
    ordering = ("-created_at",)


def _role_tier_action(role: str | None, tier: str | None) -> Callable[[Any, HttpRequest, QuerySet[User]], None]:
    def change(*, operator: User, target: User, origin: Origin) -> None:
        services.user_role_tier_set(operator=operator, target=target, role=role, tier=tier, origin=origin)

    kind, value = ("role", role) if role else ("tier", tier)
    return _for_each(change, f"set_{kind}_{value}", f"Set {kind}: {value}")


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    """Read-only by form; every change is an action, i.e. a service call that leaves an
    ADMIN_ACTION event naming the operator and the user."""

    list_display = ("email", "name", "role", "tier", "kind", "email_verified", "two_factor_enabled", "created_at")
    list_filter = ("role", "tier", "kind", "email_verified", "two_factor_enabled", LockedNowFilter)
    search_fields = ("email", "name")
    ordering = ("-created_at",)
    # The password hash is deliberately absent.
    fields = (
        "id", "email", "name", "image", "role", "tier", "kind", "locale", "email_verified", "two_factor_enabled",
        "is_active", "is_staff", "is_superuser", "created_at", "updated_at", "last_login", "vault_summary", "vault_audit",
    )  # fmt: skip
    readonly_fields = fields
    inlines = (SessionInline, PasskeyInline, MembershipInline, SecurityEventInline)
    actions = [
        "unlock",
        _for_each(services.user_sessions_revoke, "revoke_sessions", "Revoke all sessions"),
        _for_each(services.user_password_reset_force, "force_password_reset", "Force a password reset (mail)"),
        _for_each(services.user_two_factor_disable, "disable_two_factor", "Switch two-factor sign-in off"),
        _for_each(services.user_email_verify, "verify_email", "Mark email verified"),
        *[_role_tier_action(role, None) for role in Role.values],
        *[_role_tier_action(None, tier) for tier in Tier.values],
    ]

    @admin.action(description="Unlock password sign-in")
    def unlock(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for target in queryset:
            services.lockout_release(operator=_operator(request), email=target.email, origin=origin_of(request))
        self.message_user(request, f"Unlocked: {queryset.count()}", messages.SUCCESS)

    @admin.display(description="Vault")
    def vault_summary(self, user: User) -> str:
        metadata = vault_metadata(user_id=user.id)
        if metadata is None:
            return "No vault"
        shown = {key: value for key, value in metadata.items() if key != "user_id"}
        return format_html_join(", ", "{}: {}", shown.items())

    @admin.display(description="Vault audit (latest 20)")
    def vault_audit(self, user: User) -> str:
        rows = vault_audit_trail(user_id=user.id)
        trail = (
            format_html_join(
                mark_safe("<br>"),
                "{} {} ({})",
                ((r["created_at"], r["action"], r["status"]) for r in rows),
            )
            or "—"
        )
        links = format_html(
            '<br><a href="{}?{}">Vault audit</a> · <a href="{}?{}">Decrypt audit</a>',
            reverse("admin:vault_vaultaudit_changelist"),
            urlencode({"user__id__exact": user.id}),
            reverse("admin:grants_decryptaudit_changelist"),
            urlencode({"user__id__exact": user.id}),
        )
        return format_html("{}{}", trail, links)


@admin.register(LockoutState)
class LockoutAdmin(ReadOnlyAdmin):
    """Currently locked emails first, with an unlock action."""

    list_display = ("email", "locked_at", "locked_until", "is_locked_now", "cleared_at")
    search_fields = ("email",)
    ordering = ("-locked_until",)
    actions = ["unlock"]

    @admin.display(boolean=True, description="Locked now")
    def is_locked_now(self, state: LockoutState) -> bool:
        return bool(state.locked_until and state.locked_until > timezone.now())

    @admin.action(description="Unlock password sign-in")
    def unlock(self, request: HttpRequest, queryset: QuerySet[LockoutState]) -> None:
        for state in queryset:
            services.lockout_release(operator=_operator(request), email=state.email, origin=origin_of(request))
        self.message_user(request, f"Unlocked: {queryset.count()}", messages.SUCCESS)
