from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import IsService, ServiceKeyAuthentication
from core.errors import ApiError, ErrorCode
from core.selectors import dependencies_ready
from core.serializers import ErrorEnvelopeSerializer, HealthSerializer


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
