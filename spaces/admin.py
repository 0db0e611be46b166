from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from core.origin import origin_of
from spaces.models import ApiKey, Invitation, Membership, Space
from spaces.services_api_keys import api_key_revoke


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = ("user", "role", "created_at")
    readonly_fields = fields


@admin.register(Space)
class SpaceAdmin(ReadOnlyAdmin):
    list_display = ("name", "slug", "type", "created_at")
    list_filter = ("type",)
    search_fields = ("name", "slug")
    fields = ("id", "name", "slug", "type", "metadata", "personal_owner", "created_at", "updated_at")
    inlines = (MembershipInline,)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("email", "space", "role", "status", "created_at", "expires_at", "accepted_at")
    list_filter = ("status", "role")
    search_fields = ("email",)
    fields = (
        "id",
        "space",
        "email",
        "role",
        "inviter",
        "status",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
    )  # no token hash


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ("name", "prefix", "user", "space", "scopes", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__email")
    fields = (
        "id",
        "name",
        "prefix",
        "user",
        "space",
        "scopes",
        "rate_limit",
        "rate_window_seconds",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    @admin.action(description="Revoke")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset.select_related("user"):
            api_key_revoke(actor=key.user, key_id=key.id, origin=origin_of(request))
        self.message_user(request, f"Revoked: {queryset.count()}", messages.SUCCESS)
