from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import actor_of, session_id_of
from core.api import ERRORS, UserView, parsed
from core.origin import origin_of
from vault import services
from vault.serializers import (
    KeySerializer,
    OkSerializer,
    RecoveryWrapInput,
    VaultStatusSerializer,
    ZeroKnowledgeInput,
    ZeroKnowledgeResultSerializer,
)

# A master key must never sit in a cache between the service and its owner.
NO_STORE = {"Cache-Control": "no-store"}


def key_response(answer: services.KeyAnswer) -> Response:
    return Response(answer.body, headers=NO_STORE)


class StatusView(UserView):
    @extend_schema(responses={200: VaultStatusSerializer, **ERRORS}, tags=["vault"])
    def get(self, request: Request) -> Response:
        return Response(VaultStatusSerializer(services.vault_status(actor=actor_of(request))).data)


class InitView(UserView):
    @extend_schema(request=None, responses={200: KeySerializer, **ERRORS}, tags=["vault"])
    def post(self, request: Request) -> Response:
        return key_response(services.vault_init(actor=actor_of(request), origin=origin_of(request)))


class KeyView(UserView):
    @extend_schema(responses={200: KeySerializer, **ERRORS}, tags=["vault"])
    def get(self, request: Request) -> Response:
        return key_response(services.vault_key_fetch(actor=actor_of(request), origin=origin_of(request)))


class RotateView(UserView):
    @extend_schema(request=None, responses={200: KeySerializer, **ERRORS}, tags=["vault"])
    def post(self, request: Request) -> Response:
        return key_response(services.vault_rotate(actor=actor_of(request), session_id=session_id_of(request), origin=origin_of(request)))


class RecoveryWrapView(UserView):
    @extend_schema(request=RecoveryWrapInput, responses={200: OkSerializer, **ERRORS}, tags=["vault"])
    def post(self, request: Request) -> Response:
        data = parsed(RecoveryWrapInput, request)
        services.recovery_wrap_set(
            actor=actor_of(request), wrapped_mk=data["recoveryWrappedMk"], iv=data["recoveryIv"], origin=origin_of(request)
        )
        return Response({"ok": True})

    @extend_schema(responses={200: OkSerializer, **ERRORS}, tags=["vault"])
    def delete(self, request: Request) -> Response:
        services.recovery_wrap_clear(actor=actor_of(request), origin=origin_of(request))
        return Response({"ok": True})


class ZeroKnowledgeView(UserView):
    @extend_schema(request=ZeroKnowledgeInput, responses={200: ZeroKnowledgeResultSerializer, **ERRORS}, tags=["vault"])
    def post(self, request: Request) -> Response:
        data = parsed(ZeroKnowledgeInput, request)
        if data["enable"]:
            services.zero_knowledge_enable(actor=actor_of(request), origin=origin_of(request))
        else:
            services.zero_knowledge_disable(
                actor=actor_of(request), master_key=data["masterKey"], session_id=session_id_of(request), origin=origin_of(request)
            )
        return Response({"ok": True, "zeroKnowledge": data["enable"]})
