"""Views that exist only for the tests of the error envelope, mounted in front of the real URLs."""

import logging

from django.db import OperationalError, ProgrammingError
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as service_urlpatterns
from core.api import PublicView
from core.auth import IsService, ServiceKeyAuthentication
from core.urls import route

logger = logging.getLogger("tests.views")


class EchoSerializer(serializers.Serializer):
    email = serializers.EmailField()


class EchoView(PublicView):
    def post(self, request: Request) -> Response:
        data = EchoSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        logger.info("echo handled")
        return Response(data.validated_data)


class SchemaDriftView(PublicView):
    def get(self, request: Request) -> Response:
        raise ProgrammingError('column "email_verified" does not exist\nLINE 1: SELECT "accounts_user"."secret_column" FROM accounts_user')


class DatabaseDownView(PublicView):
    def get(self, request: Request) -> Response:
        raise OperationalError('connection to server at "10.0.0.9", port 5432 failed: password authentication failed for user "mana"')


class CrashView(PublicView):
    def post(self, request: Request) -> Response:
        _ = request.data
        raise RuntimeError("internal detail: hunter2 in /srv/app/secret.py")


class InternalView(APIView):
    authentication_classes = (ServiceKeyAuthentication,)
    permission_classes = (IsService,)

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [
    *route("api/test/echo", EchoView.as_view()),
    *route("api/test/drift", SchemaDriftView.as_view()),
    *route("api/test/db-down", DatabaseDownView.as_view()),
    *route("api/test/crash", CrashView.as_view()),
    *route("api/v1/internal/test", InternalView.as_view()),
    *service_urlpatterns,
]

handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"
