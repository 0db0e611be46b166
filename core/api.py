"""The bases every app's DRF views stand on, and the service's own health routes."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import IsService, ServiceKeyAuthentication
from core.errors import ApiError, ErrorCode
from core.selectors import dependencies_ready
from core.serializers import ErrorEnvelopeSerializer, HealthSerializer

NO_STORE = {"Cache-Control": "no-store"}
ERRORS = {400: ErrorEnvelopeSerializer, 401: ErrorEnvelopeSerializer, 403: ErrorEnvelopeSerializer, 404: ErrorEnvelopeSerializer,
          409: ErrorEnvelopeSerializer, 429: ErrorEnvelopeSerializer, 503: ErrorEnvelopeSerializer}  # fmt: skip


# DRF builds a serializer's fields afresh for every instance (deep copies of the declared ones,
# model introspection for a ModelSerializer): 254 of the 316 µs a user's representation took. The
# serializers named here validate and represent with their fields alone (no context, no state),
# so one instance per class serves every request.
_BUILT: dict[type[serializers.BaseSerializer[Any]], serializers.BaseSerializer[Any]] = {}


def _built(serializer_class: type[serializers.BaseSerializer[Any]]) -> serializers.BaseSerializer[Any]:
    built = _BUILT.get(serializer_class)
    if built is None:
        built = _BUILT[serializer_class] = serializer_class()
    return built


def parsed(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    try:
        return dict(_built(serializer_class).run_validation(request.data))
    except ValidationError:
        # Refused: through is_valid, which shapes DRF's errors (an empty body's, say) as before.
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        raise


def represented(serializer_class: type[serializers.BaseSerializer[Any]], instance: Any) -> dict[str, Any]:
    """What `serializer_class(instance).data` gives, for a serializer that needs no context."""
    return dict(_built(serializer_class).to_representation(instance))


def success() -> Response:
    return Response({"success": True})


class PublicView(APIView):
    authentication_classes = ()


class UserView(APIView):
    """A signed-in user's route. How a user signs in to the API (the Bearer access token) is the
    accounts app's, named in REST_FRAMEWORK's DEFAULT_AUTHENTICATION_CLASSES."""

    permission_classes: tuple[type[BasePermission], ...] = (IsAuthenticated,)


def health_body() -> dict[str, str]:
    return {"status": "ok", "service": "mana-auth", "timestamp": timezone.now().isoformat()}


class ServiceView(APIView):
    """The internal routes: sibling services only, by X-Service-Key."""

    authentication_classes = (ServiceKeyAuthentication,)
    permission_classes = (IsService,)


class HealthView(APIView):
    """Liveness: answers without touching the database or the cache."""

    authentication_classes = ()

    @extend_schema(responses={200: HealthSerializer}, tags=["health"])
    def get(self, request: Request) -> Response:
        return Response(health_body())


class ReadyView(APIView):
    """Readiness: the database and the cache answer."""

    authentication_classes = ()

    @extend_schema(responses={200: HealthSerializer, 503: ErrorEnvelopeSerializer}, tags=["health"])
    def get(self, request: Request) -> Response:
        try:
            dependencies_ready()
        except Exception as exc:
            raise ApiError(ErrorCode.SERVICE_UNAVAILABLE) from exc
        return Response(health_body())


class ApiNotFoundView(APIView):
    """Catch-all under /api/: a JSON 404 envelope whatever DEBUG says."""

    authentication_classes = ()
    schema = None

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        raise ApiError(ErrorCode.NOT_FOUND)
