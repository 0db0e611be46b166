from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils import timezone

from core.keyring import IV_BYTES, Wrapped
from core.models import AppendOnlyModel


class Vault(models.Model):
    """One master key per user, only ever stored wrapped: by the server KEK, by the user's
    recovery code (client-side), or both. Row-level security on PostgreSQL (migration 0002)."""

    # DB-level cascade: the database deletes the row with its user, which row-level security
    # permits (referential actions bypass it); an ORM cascade would be filtered to nothing.
    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.DB_CASCADE, related_name="vault")
    wrapped_mk = models.BinaryField(null=True)
    mk_iv = models.BinaryField(null=True)
    format_version = models.PositiveSmallIntegerField(default=1)
    kek_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL exactly when there is no server wrap (CHECK below)
    recovery_wrapped_mk = models.BinaryField(null=True)
    recovery_iv = models.BinaryField(null=True)
    recovery_format_version = models.PositiveSmallIntegerField(null=True)
    recovery_set_at = models.DateTimeField(null=True, blank=True)
    zero_knowledge = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(wrapped_mk__isnull=False) | Q(recovery_wrapped_mk__isnull=False), name="vault_some_wrap_present"
            ),
            models.CheckConstraint(
                condition=Q(wrapped_mk__isnull=True, mk_iv__isnull=True, kek_id__isnull=True)
                | Q(wrapped_mk__isnull=False, mk_iv__isnull=False, kek_id__isnull=False),
                name="vault_server_wrap_complete",
            ),
            models.CheckConstraint(
                condition=Q(recovery_wrapped_mk__isnull=True, recovery_iv__isnull=True)
                | Q(recovery_wrapped_mk__isnull=False, recovery_iv__isnull=False),
                name="vault_recovery_wrap_complete",
            ),
            models.CheckConstraint(
                condition=Q(zero_knowledge=False) | Q(wrapped_mk__isnull=True, recovery_wrapped_mk__isnull=False),
                name="vault_zero_knowledge_has_no_server_wrap",
            ),
            models.CheckConstraint(condition=Q(mk_iv__isnull=True) | Q(Exact(Length("mk_iv"), IV_BYTES)), name="vault_mk_iv_12_bytes"),
            models.CheckConstraint(
                condition=Q(recovery_iv__isnull=True) | Q(Exact(Length("recovery_iv"), IV_BYTES)), name="vault_recovery_iv_12_bytes"
            ),
        ]

    def __str__(self) -> str:
        return f"vault of {self.user_id}"

    def server_wrap(self) -> Wrapped | None:
        """The master key as the server KEK wraps it; None without a server wrap."""
        if self.wrapped_mk is None or self.mk_iv is None or self.kek_id is None:
            return None
        return Wrapped(kek_id=self.kek_id, iv=bytes(self.mk_iv), ciphertext=bytes(self.wrapped_mk))


class VaultAudit(AppendOnlyModel):
    class Action(models.TextChoices):
        INIT = "init"
        FETCH = "fetch"
        ROTATE = "rotate"
        FAILED_FETCH = "failed_fetch"
        RECOVERY_SET = "recovery_set"
        RECOVERY_CLEAR = "recovery_clear"
        ZK_ENABLE = "zk_enable"
        ZK_DISABLE = "zk_disable"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DB_CASCADE, related_name="vault_audit", db_index=False)
    action = models.CharField(max_length=32, choices=Action.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    context = models.JSONField(default=dict, blank=True)
    status = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="vault_audit_user_time")]

    def __str__(self) -> str:
        return f"{self.action} ({self.status})"
