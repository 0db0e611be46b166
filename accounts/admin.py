from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts import selectors, services
from accounts.models import LockoutState, LoginAttempt, OutboxMessage, Role, Session, SigningKey, SignupDay, Tier, User
from core.admin import ReadOnlyAdmin, ReadOnlyInline
from core.models import SecurityEvent
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
            action(operator=_operator(request), target=target, request=request)
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
    def change(operator: User, target: User, request: HttpRequest) -> None:
        services.admin_set_role_and_tier(operator=operator, target=target, role=role, tier=tier, request=request)

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
        _for_each(services.admin_revoke_sessions, "revoke_sessions", "Revoke all sessions"),
        _for_each(services.admin_force_password_reset, "force_password_reset", "Force a password reset (mail)"),
        _for_each(services.admin_disable_two_factor, "disable_two_factor", "Switch two-factor sign-in off"),
        _for_each(services.admin_verify_email, "verify_email", "Mark email verified"),
        *[_role_tier_action(role, None) for role in Role.values],
        *[_role_tier_action(None, tier) for tier in Tier.values],
    ]

    @admin.action(description="Unlock password sign-in")
    def unlock(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for target in queryset:
            services.admin_unlock(operator=_operator(request), email=target.email, request=request)
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
            '<br><a href="/admin/vault/vaultaudit/?user__id__exact={0}">Vault audit</a> · '
            '<a href="/admin/grants/decryptaudit/?user__id__exact={0}">Decrypt audit</a>',
            user.id,
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
            services.admin_unlock(operator=_operator(request), email=state.email, request=request)
        self.message_user(request, f"Unlocked: {queryset.count()}", messages.SUCCESS)


@admin.register(LoginAttempt)
class LoginAttemptAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "email", "method", "outcome", "ip_address")
    list_filter = ("outcome", "method", "created_at")
    search_fields = ("email", "ip_address")
    date_hierarchy = "created_at"


@admin.register(OutboxMessage)
class OutboxAdmin(ReadOnlyAdmin):
    # The wrapped body holds the links it mails: never shown.
    list_display = ("created_at", "template", "recipient", "status", "attempts", "last_error", "next_attempt_at", "sent_at")
    list_filter = ("status", "template")
    search_fields = ("recipient",)
    fields = ("created_at", "template", "recipient", "subject", "status", "attempts", "last_error", "next_attempt_at", "sent_at")
    actions = ["retry"]

    @admin.action(description="Retry now")
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        retried = services.outbox_retry(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Delivered now: {retried} of {queryset.count()}", messages.INFO)


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ("kid", "created_at", "active", "retired_at")
    fields = ("kid", "public_key", "created_at", "active", "retired_at")  # never the private half


@admin.register(SignupDay)
class SignupDayAdmin(ReadOnlyAdmin):
    list_display = ("day", "count")
