from django.conf import settings
from django.db import models
from django.utils import timezone


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt


class OutboxMessage(models.Model):
    """Mail, written in the transaction of the action that sends it; delivered after commit and
    retried by `process_outbox`. Bodies hold links with tokens, so they are KEK-wrapped at rest
    and dropped once delivered."""

    Status = DeliveryStatus

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


class ServiceCall(models.Model):
    """A call to a sibling service (PLATFORM.md §10), written in the transaction of the action that
    causes it, first sent after commit and retried by `process_outbox`: delivery is at least once,
    the targets are idempotent. The payload (ids, address, name) is dropped once sent.

    The user's calls go with the user (CASCADE): a call still pending when its user is erased must
    not go out, since it would carry the erased address and re-create the credits account the
    erasure deleted. A call queued for an erased user (a retried credits delete) has no user."""

    class Target(models.TextChoices):
        CREDITS = "credits"
        MAIL = "mail"

    Status = DeliveryStatus

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="service_calls")
    target = models.CharField(max_length=16, choices=Target.choices)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    payload = models.JSONField(null=True, blank=True)  # None: a call without a body
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True, default="")  # the kind of failure, never an answer body
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="mail_servicecall_due")]

    def __str__(self) -> str:
        return f"{self.target} {self.method} {self.path} → {self.status}"
