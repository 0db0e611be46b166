from django.conf import settings
from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    """Mail, written in the transaction of the action that sends it; delivered after commit and
    retried by `process_outbox`. Bodies hold links with tokens, so they are KEK-wrapped at rest
    and dropped once delivered."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"  # gave up after the last attempt

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="outbox_messages")
    recipient = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    template = models.CharField(max_length=64)
    body_wrapped = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table the accounts app created keeps its name: existing rows stay where they are.
        db_table = "accounts_outboxmessage"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="accounts_outbox_due")]

    def __str__(self) -> str:
        return f"{self.template} → {self.status}"
