from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from mail.models import OutboxMessage, ServiceCall
from mail.services import outbox_retry, service_call_retry


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
        retried = outbox_retry(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Delivered now: {retried} of {queryset.count()}", messages.INFO)


@admin.register(ServiceCall)
class ServiceCallAdmin(ReadOnlyAdmin):
    # The payload (address, name) is the user's, not the operator's business: never shown.
    list_display = ("created_at", "target", "method", "path", "status", "attempts", "last_error", "next_attempt_at", "sent_at")
    list_filter = ("status", "target")
    search_fields = ("user__email", "path")
    fields = ("created_at", "user", "target", "method", "path", "status", "attempts", "last_error", "next_attempt_at", "sent_at")
    raw_id_fields = ("user",)
    actions = ["retry"]

    @admin.action(description="Retry now")
    def retry(self, request: HttpRequest, queryset: QuerySet[ServiceCall]) -> None:
        retried = service_call_retry(call_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Sent now: {retried} of {queryset.count()}", messages.INFO)
