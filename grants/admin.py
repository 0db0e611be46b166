from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from core.admin import ReadOnlyAdmin, RowLevelSecuredAdmin
from core.origin import origin_of
from grants.models import DecryptAudit, Grant
from grants.services import grant_revoke


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "mission_id", "record_count", "issued_at", "expires_at", "revoked_at")
    list_filter = ("issued_at", "expires_at")
    search_fields = ("id", "mission_id", "user__email")
    list_select_related = ("user",)
    actions = ["revoke"]

    @admin.action(description="Revoke")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Grant]) -> None:
        for grant in queryset.select_related("user"):
            user: User = grant.user
            grant_revoke(actor=user, grant_id=grant.id, origin=origin_of(request))
        self.message_user(request, f"Revoked: {queryset.count()}", messages.SUCCESS)


@admin.register(DecryptAudit)
class DecryptAuditAdmin(RowLevelSecuredAdmin):
    list_display = ("created_at", "user", "mission_id", "iteration_id", "table_name", "record_id", "status", "reason")
    list_filter = ("status", "created_at")
    date_hierarchy = "created_at"
