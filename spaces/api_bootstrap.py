"""POST /api/v1/me/bootstrap-singletons (PLATFORM.md §5). Apart from spaces/api.py: the spaces
and organization routes there are a different concern."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import actor_of
from core.api import ERRORS, NO_STORE, UserView
from spaces.bootstrap import singletons_bootstrap


class BootstrappedSerializer(serializers.Serializer[Any]):
    userContext = serializers.BooleanField()
    spaces = serializers.DictField(child=serializers.BooleanField(), help_text="One key per space of the caller")


class BootstrapAnswerSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    bootstrapped = BootstrappedSerializer()


class SingletonsBootstrapView(UserView):
    @extend_schema(request=None, responses={200: BootstrapAnswerSerializer, **ERRORS}, tags=["me"])
    def post(self, request: Request) -> Response:
        return Response({"ok": True, "bootstrapped": singletons_bootstrap(actor=actor_of(request))}, headers=NO_STORE)
