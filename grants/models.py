from django.conf import settings
from django.db import models
from django.utils import timezone

from core.ids import new_id
from core.models import AppendOnlyModel, RevocableQuerySet


class Grant(models.Model):
    """A registry entry for an issued mission grant: never the MDK, never the wrapped key."""

    id = models.CharField(primary_key=True, max_length=36, default=new_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants", db_index=False)
    mission_id = models.CharField(max_length=200)
    tables = models.JSONField(default=list)
    record_count = models.PositiveIntegerField()
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = RevocableQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "-issued_at"], name="grants_user_issued")]

    def __str__(self) -> str:
        return f"grant {self.id}"


class DecryptStatus(models.TextChoices):
    OK = "ok"
    FAILED = "failed"
    SCOPE_VIOLATION = "scope-violation"


class DecryptAudit(AppendOnlyModel):
    """What the AI service decrypted (or refused to) under a grant. Row-level security (0002)."""

    Status = DecryptStatus

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DB_CASCADE, related_name="decrypt_audit", db_index=False)
    mission_id = models.CharField(max_length=200)
    iteration_id = models.CharField(max_length=200)
    table_name = models.CharField(max_length=100)
    record_id = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=Status.choices)
    reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "mission_id", "-created_at"], name="grants_decrypt_user_mission")]
        constraints = [models.CheckConstraint(condition=models.Q(status__in=DecryptStatus.values), name="grants_decrypt_status_valid")]

    def __str__(self) -> str:
        return f"{self.table_name}:{self.record_id} {self.status}"


class DecryptAuditBatch(models.Model):
    """One row per written batch: a retried batch finds its id taken and writes nothing twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    batch_id = models.CharField(max_length=100)
    written = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "batch_id"], name="grants_decrypt_batch_once")]

    def __str__(self) -> str:
        return self.batch_id
