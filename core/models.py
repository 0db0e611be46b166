from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone


class AppendOnlyError(Exception):
    """An audit row was about to be changed or deleted."""


class AppendOnlyModel(models.Model):
    """Audit rows are inserted, never updated or deleted one by one (DESIGN.md rule 5)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only")


class SecurityEvent(AppendOnlyModel):
    # The user is nulled, not the row deleted, when an account goes: the trail outlives it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="security_events", db_index=False
    )
    type = models.CharField(max_length=64)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at"], name="core_secevent_user_time"),
            models.Index(fields=["type", "-created_at"], name="core_secevent_type_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class RevocableQuerySet(models.QuerySet[Any]):
    """Rows that end by being revoked (`revoked_at` set), never by being deleted."""

    def active(self) -> "RevocableQuerySet":
        return self.filter(revoked_at__isnull=True)

    def revoke(self) -> int:
        """Revoke every active row of this query now; returns how many were still active."""
        return self.active().update(revoked_at=timezone.now())

    def lock_and_revoke(self, **lookup: Any) -> tuple[Any, bool]:
        """The row matching `lookup`, locked for this transaction and revoked now: `(row, True)`
        when this call revoked it, `(row, False)` when it already was, `(None, False)` for none.
        Run inside a transaction."""
        row = self.select_for_update().filter(**lookup).first()
        if row is None or row.revoked_at is not None:
            return row, False
        row.revoked_at = timezone.now()
        row.save(update_fields=["revoked_at"])
        return row, True


def unique_row_insert[M: models.Model](model: type[M], make: Callable[[], M], **unique: Any) -> M:
    """Insert the row a unique index admits once (an active signing key), or, when a racing
    worker got there first, the one it inserted."""
    try:
        with transaction.atomic():
            row = make()
            row.save(force_insert=True)
            return row
    except IntegrityError:
        return model.objects.get(**unique)  # type: ignore[attr-defined] # every concrete model has its manager
