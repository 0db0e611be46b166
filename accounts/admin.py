from django.contrib import admin

from accounts.models import LoginAttempt, SigningKey, SignupDay
from core.admin import ReadOnlyAdmin


@admin.register(LoginAttempt)
class LoginAttemptAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "email", "method", "outcome", "ip_address")
    list_filter = ("outcome", "method", "created_at")
    search_fields = ("email", "ip_address")
    date_hierarchy = "created_at"


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ("kid", "created_at", "active", "retired_at")
    fields = ("kid", "public_key", "created_at", "active", "retired_at")  # never the private half


@admin.register(SignupDay)
class SignupDayAdmin(ReadOnlyAdmin):
    list_display = ("day", "count")
