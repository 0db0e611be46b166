"""The accounts part of a person's data: the export (everything but secrets: no hashes, no
tokens, no keys) and the summary counts."""

from typing import Any

from django.contrib.admin.models import LogEntry
from django.utils import timezone

from accounts.models import (
    BackupCode,
    DeviceToken,
    EmailToken,
    LoginAttempt,
    Session,
    TwoFactor,
    TwoFactorChallenge,
    User,
    UserSettings,
)
from core.models import SecurityEvent
from core.personal_data import exporter, summary


@exporter("profile")
def profile(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "image": user.image,
        "emailVerified": user.email_verified,
        "role": user.role,
        "tier": user.tier,
        "kind": user.kind,
        "locale": user.locale,
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
        "lastLogin": user.last_login,
        "onboardingCompletedAt": user.onboarding_completed_at,
        "hasPassword": user.has_usable_password(),
    }


@exporter("sessions", Session)
def sessions(user: User) -> list[Any]:
    return list(
        Session.objects.filter(user=user)
        .order_by("created_at")
        .values("id", "created_at", "last_seen_at", "expires_at", "revoked_at", "ip_address", "user_agent", "method")
    )


@exporter("loginAttempts", LoginAttempt)
def login_attempts(user: User) -> list[Any]:
    return list(
        LoginAttempt.objects.filter(email=user.email).order_by("created_at").values("created_at", "method", "outcome", "ip_address")
    )


@exporter("securityEvents", SecurityEvent)
def security_events(user: User) -> list[Any]:
    return list(
        SecurityEvent.objects.filter(user=user).order_by("created_at").values("created_at", "type", "ip_address", "user_agent", "metadata")
    )


@exporter("twoFactor", TwoFactor, BackupCode, TwoFactorChallenge)
def two_factor(user: User) -> dict[str, Any]:
    state = TwoFactor.objects.filter(user=user).values("created_at", "confirmed_at").first()
    return {
        "enabled": user.two_factor_enabled,
        "enrolledAt": state["created_at"] if state else None,
        "confirmedAt": state["confirmed_at"] if state else None,
        "backupCodesLeft": BackupCode.objects.filter(user=user, used_at__isnull=True).count(),
        "pendingSecondFactorSteps": TwoFactorChallenge.objects.filter(user=user, used_at__isnull=True).count(),
    }


@exporter("devices", DeviceToken)
def devices(user: User) -> list[Any]:
    return list(DeviceToken.objects.filter(user=user).order_by("created_at").values("created_at", "last_used_at", "revoked_at"))


@exporter("mailedLinks", EmailToken)
def mailed_links(user: User) -> list[Any]:
    return list(
        EmailToken.objects.filter(user=user).order_by("created_at").values("purpose", "new_email", "created_at", "expires_at", "used_at")
    )


@exporter("settings", UserSettings)
def settings(user: User) -> dict[str, Any] | None:
    row = UserSettings.objects.filter(user=user).first()
    if row is None:
        return None
    return {"global": row.global_settings, "apps": row.app_settings, "devices": row.device_settings, "updatedAt": row.updated_at}


@exporter("adminLog", LogEntry)
def admin_log(user: User) -> list[Any]:
    """For operators: what they changed in the console."""
    return list(
        LogEntry.objects.filter(user=user)
        .order_by("action_time")
        .values("action_time", "content_type__model", "object_repr", "action_flag")
    )


@summary
def counts(user: User) -> dict[str, Any]:
    return {
        "sessions": Session.objects.active().filter(user=user, expires_at__gt=timezone.now()).count(),
        "securityEvents": SecurityEvent.objects.filter(user=user).count(),
    }
