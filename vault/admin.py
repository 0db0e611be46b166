from django.contrib import admin

from core.admin import RowLevelSecuredAdmin
from vault.models import VaultAudit


@admin.register(VaultAudit)
class VaultAuditAdmin(RowLevelSecuredAdmin):
    list_display = ("created_at", "user", "action", "status", "ip_address")
    list_filter = ("action", "status", "created_at")
    date_hierarchy = "created_at"
