from typing import Any

from django.contrib import admin, messages
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from core.models import SecurityEvent
from core.rls import acting_as


class NoWrites:
    """Audit-grade records: viewable, never added, changed or deleted through the admin, not even
    by a superuser (the permission checks below refuse POSTs too)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(NoWrites, admin.ModelAdmin):
    pass


class ReadOnlyInline(NoWrites, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "type", "user", "ip_address")
    list_filter = ("type", "created_at")
    search_fields = ("user__email", "type", "ip_address")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    fields = ("created_at", "type", "user", "ip_address", "user_agent", "metadata")


class RowLevelSecuredAdmin(ReadOnlyAdmin):
    """Rows behind PostgreSQL row-level security, shown one user at a time: the changelist runs,
    rendering included, acting as the user named by `?user__id__exact=` (the operator's explicit
    path). Without a user, the policy shows nothing."""

    list_display_links = None
    user_lookup = "user__id__exact"

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        return lookup == self.user_lookup or bool(super().lookup_allowed(lookup, value, request))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        user_id = request.GET.get(self.user_lookup)
        if not user_id:
            if connection.vendor == "postgresql":
                self.message_user(request, "Open this list from a user's page (filtered by that user) to see their rows.", messages.INFO)
            return super().changelist_view(request, extra_context)
        with acting_as(user_id):
            response = super().changelist_view(request, extra_context)
            if isinstance(response, TemplateResponse):
                response.render()
            return response
