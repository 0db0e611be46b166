from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from mail.models import OutboxMessage
from mail.services import outbox_retry


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
