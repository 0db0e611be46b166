from django.contrib import admin

from core.admin import ReadOnlyAdmin
from passkeys.models import Passkey


@admin.register(Passkey)
class PasskeyAdmin(ReadOnlyAdmin):
    list_display = ("name", "user", "device_type", "backed_up", "created_at", "last_used_at")
    list_filter = ("device_type", "backed_up")
    search_fields = ("name", "user__email")
    fields = (
        "name",
        "user",
        "aaguid",
        "device_type",
        "backed_up",
        "transports",
        "sign_count",
        "created_at",
        "last_used_at",
    )  # no key material
