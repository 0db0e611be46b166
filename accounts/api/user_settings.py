"""Preferences: /api/v1/settings. Every read and write answers the three documents (PLATFORM.md §5)."""

import re
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import actor_of
from accounts.serializers import SETTINGS_KEY, DeviceListSerializer, DeviceSettingsInput, SettingsDocumentInput, SettingsSerializer
from accounts.services import user_settings
from core.api import ERRORS, UserView, parsed
from core.errors import ApiError, ErrorCode


def _settings_key(value: str, field: str) -> str:
    if not re.fullmatch(SETTINGS_KEY, value):
        raise ApiError(ErrorCode.VALIDATION, fields={field: ["Use 1-64 letters, digits, '.', '_' or '-'."]})
    return value


def _answer(documents: dict[str, Any]) -> Response:
    return Response({"success": True, **documents})


class SettingsView(UserView):
    @extend_schema(responses={200: SettingsSerializer, **ERRORS}, tags=["settings"])
    def get(self, request: Request) -> Response:
        return _answer(user_settings.settings_view(actor=actor_of(request)))


class GlobalSettingsView(UserView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: SettingsSerializer, **ERRORS}, tags=["settings"])
    def patch(self, request: Request) -> Response:
        return _answer(user_settings.settings_global_patch(actor=actor_of(request), patch=parsed(SettingsDocumentInput, request)))


class AppSettingsView(UserView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: SettingsSerializer, **ERRORS}, tags=["settings"])
    def patch(self, request: Request, app_id: str) -> Response:
        patch = parsed(SettingsDocumentInput, request)
        return _answer(user_settings.settings_app_patch(actor=actor_of(request), app_id=_settings_key(app_id, "appId"), patch=patch))

    @extend_schema(responses={200: SettingsSerializer, **ERRORS}, tags=["settings"])
    def delete(self, request: Request, app_id: str) -> Response:
        return _answer(user_settings.settings_app_delete(actor=actor_of(request), app_id=_settings_key(app_id, "appId")))


class DeviceSettingsView(UserView):
    @extend_schema(request=DeviceSettingsInput, responses={200: SettingsSerializer, **ERRORS}, tags=["settings"])
    def patch(self, request: Request, device_id: str, app_id: str) -> Response:
        data = parsed(DeviceSettingsInput, request)
        documents = user_settings.settings_device_patch(
            actor=actor_of(request),
            device_id=_settings_key(device_id, "deviceId"),
            app_id=_settings_key(app_id, "appId"),
            device_name=data.get("deviceName"),
            device_type=data.get("deviceType"),
            patch=data["settings"],
        )
        return _answer(documents)


class DevicesView(UserView):
    @extend_schema(responses={200: DeviceListSerializer, **ERRORS}, tags=["settings"])
    def get(self, request: Request) -> Response:
        return Response({"success": True, "devices": user_settings.settings_devices(actor=actor_of(request))})


class DeviceView(UserView):
    @extend_schema(responses={200: SettingsSerializer, **ERRORS}, tags=["settings"])
    def delete(self, request: Request, device_id: str) -> Response:
        return _answer(user_settings.settings_device_delete(actor=actor_of(request), device_id=_settings_key(device_id, "deviceId")))
