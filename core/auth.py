"""Authentication of sibling services by the shared key in X-Service-Key."""

import hmac
from typing import Any

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.errors import ApiError, ErrorCode

SERVICE_AUTH = "service-key"


class ServicePrincipal:
    """Stands in for request.user when a sibling service calls."""

    is_authenticated = True
    id = None

    def __str__(self) -> str:
        return "service"


def service_key_matches(presented: str) -> bool:
    expected = settings.MANA_SERVICE_KEY
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


class ServiceKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        presented = request.headers.get("X-Service-Key")
        if presented is None:
            return None
        if not service_key_matches(presented):
            raise ApiError(ErrorCode.UNAUTHORIZED, "The service key is wrong.")
        return ServicePrincipal(), SERVICE_AUTH

    def authenticate_header(self, request: Request) -> str:
        return 'ServiceKey realm="mana"'


class IsService(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return request.auth == SERVICE_AUTH
