"""Preferences (one global document, one per app, one per device and app, as RFC 7386 merge
patches with size and depth limits) and onboarding."""

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User, UserSettings
from core.errors import ApiError, ErrorCode

SETTINGS_MAX_BYTES = 64 * 1024
SETTINGS_MAX_DEPTH = 8
DEFAULT_GLOBAL_SETTINGS: dict[str, Any] = {
    "nav": {"desktopPosition": "top", "sidebarCollapsed": False},
    "theme": {"mode": "system", "colorScheme": "ocean"},
    "locale": "de",
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _checked(document: dict[str, Any], field: str) -> dict[str, Any]:
    if _depth(document) > SETTINGS_MAX_DEPTH:
        raise ApiError(ErrorCode.VALIDATION, fields={field: [f"Nested deeper than {SETTINGS_MAX_DEPTH} levels."]})
    if len(json.dumps(document, separators=(",", ":")).encode()) > SETTINGS_MAX_BYTES:
        raise ApiError(ErrorCode.VALIDATION, fields={field: [f"Larger than {SETTINGS_MAX_BYTES // 1024} KiB."]})
    return document


def _settings_row(actor: User) -> UserSettings:
    row, _ = UserSettings.objects.select_for_update().get_or_create(user=actor)
    return row


def _device_documents(row: UserSettings | None) -> dict[str, Any]:
    return dict(row.device_settings) if row else {}


def settings_view(*, actor: User) -> dict[str, Any]:
    """The three documents every settings route answers (PLATFORM.md §5); the global one over
    its defaults. Device documents are `{deviceName, deviceType, lastSeen, apps: {<appId>: …}}`."""
    row = UserSettings.objects.filter(user=actor).first()
    stored_global = row.global_settings if row else {}
    return {
        "globalSettings": merge_patch(DEFAULT_GLOBAL_SETTINGS, stored_global),
        "appOverrides": dict(row.app_settings) if row else {},
        "deviceSettings": _device_documents(row),
    }


def settings_global_patch(*, actor: User, patch: dict[str, Any]) -> dict[str, Any]:
    with transaction.atomic():
        row = _settings_row(actor)
        row.global_settings = _checked(merge_patch(row.global_settings, patch), "global")
        row.save()
    return settings_view(actor=actor)


def settings_app_patch(*, actor: User, app_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    with transaction.atomic():
        row = _settings_row(actor)
        row.app_settings = {**row.app_settings, app_id: _checked(merge_patch(row.app_settings.get(app_id), patch), app_id)}
        row.save()
    return settings_view(actor=actor)


def settings_app_delete(*, actor: User, app_id: str) -> dict[str, Any]:
    with transaction.atomic():
        row = _settings_row(actor)
        row.app_settings = {key: value for key, value in row.app_settings.items() if key != app_id}
        row.save()
    return settings_view(actor=actor)


def settings_device_patch(
    *, actor: User, device_id: str, app_id: str, device_name: str | None, device_type: str | None, patch: dict[str, Any]
) -> dict[str, Any]:
    """Merge `patch` into the device's document for the app; the device's name and type are
    kept unless given, and `lastSeen` is now."""
    with transaction.atomic():
        row = _settings_row(actor)
        device = dict(row.device_settings.get(device_id) or {})
        apps = dict(device.get("apps") or {})
        apps[app_id] = _checked(merge_patch(apps.get(app_id), patch), app_id)
        device = {
            "deviceName": device_name if device_name is not None else device.get("deviceName", ""),
            "deviceType": device_type if device_type is not None else device.get("deviceType", ""),
            "lastSeen": timezone.now().isoformat(),
            "apps": apps,
        }
        row.device_settings = {**row.device_settings, device_id: _checked(device, device_id)}
        row.save()
    return settings_view(actor=actor)


def settings_devices(*, actor: User) -> list[dict[str, Any]]:
    devices = _device_documents(UserSettings.objects.filter(user=actor).first())
    return [
        {
            "deviceId": device_id,
            "deviceName": device.get("deviceName", ""),
            "deviceType": device.get("deviceType", ""),
            "lastSeen": device.get("lastSeen"),
            "appCount": len(device.get("apps") or {}),
        }
        for device_id, device in sorted(devices.items(), key=lambda item: item[1].get("lastSeen") or "", reverse=True)
    ]


def settings_device_delete(*, actor: User, device_id: str) -> dict[str, Any]:
    with transaction.atomic():
        row = _settings_row(actor)
        if device_id not in row.device_settings:
            raise ApiError(ErrorCode.NOT_FOUND)
        row.device_settings = {key: value for key, value in row.device_settings.items() if key != device_id}
        row.save()
    return settings_view(actor=actor)


def onboarding_complete(*, actor: User) -> User:
    if actor.onboarding_completed_at is None:
        actor.onboarding_completed_at = timezone.now()
        actor.save(update_fields=["onboarding_completed_at", "updated_at"])
    return actor


def onboarding_reset(*, actor: User) -> User:
    actor.onboarding_completed_at = None
    actor.save(update_fields=["onboarding_completed_at", "updated_at"])
    return actor
