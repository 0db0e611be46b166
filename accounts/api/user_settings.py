"""Preferences: /api/v1/settings."""

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import actor_of
from accounts.serializers import SETTINGS_KEY, SettingsDocumentInput
from accounts.services import user_settings
from core.api import ERRORS, UserView, parsed, success
from core.errors import ApiError, ErrorCode
from core.serializers import SuccessSerializer


def _settings_key(value: str, field: str) -> str:
    if not re.fullmatch(SETTINGS_KEY, value):
        raise ApiError(ErrorCode.VALIDATION, fields={field: ["Use 1-64 letters, digits, '.', '_' or '-'."]})
    return value


class SettingsView(UserView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["settings"])
    def get(self, request: Request) -> Response:
        return Response(user_settings.settings_view(actor=actor_of(request)))


class GlobalSettingsView(UserView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["settings"])
    def patch(self, request: Request) -> Response:
        return Response(user_settings.settings_global_patch(actor=actor_of(request), patch=parsed(SettingsDocumentInput, request)))


class AppSettingsView(UserView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["settings"])
    def patch(self, request: Request, app_id: str) -> Response:
        patch = parsed(SettingsDocumentInput, request)
        return Response(user_settings.settings_app_patch(actor=actor_of(request), app_id=_settings_key(app_id, "appId"), patch=patch))

    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["settings"])
    def delete(self, request: Request, app_id: str) -> Response:
        user_settings.settings_app_delete(actor=actor_of(request), app_id=_settings_key(app_id, "appId"))
        return success()


class DeviceSettingsView(UserView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["settings"])
    def patch(self, request: Request, device_id: str, app_id: str) -> Response:
        patch = parsed(SettingsDocumentInput, request)
        document = user_settings.settings_device_patch(
            actor=actor_of(request), device_id=_settings_key(device_id, "deviceId"), app_id=_settings_key(app_id, "appId"), patch=patch
        )
        return Response(document)


class DevicesView(UserView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["settings"])
    def get(self, request: Request) -> Response:
        return Response({"devices": user_settings.settings_devices(actor=actor_of(request))})


class DeviceView(UserView):
    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["settings"])
    def delete(self, request: Request, device_id: str) -> Response:
        user_settings.settings_device_delete(actor=actor_of(request), device_id=_settings_key(device_id, "deviceId"))
        return success()
