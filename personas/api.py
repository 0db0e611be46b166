"""Personas over HTTP: the operator's routes under /api/v1/admin/personas (admins by role) and the
persona runner's under /api/v1/internal/personas (service key)."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import actor_of
from accounts.permissions import AdminView
from core.api import ERRORS, NO_STORE, ServiceView, parsed, success
from core.origin import origin_of
from core.serializers import SuccessSerializer
from personas import selectors, services
from personas.serializers import (
    ActionsInput,
    DuePersonaSerializer,
    DuePersonasSerializer,
    FeedbackListInput,
    PersonaListSerializer,
    PersonaSerializer,
    PersonaUpsertedSerializer,
    PersonaUpsertInput,
    PersonaWrittenSerializer,
)


class AdminPersonaListView(AdminView):
    @extend_schema(responses={200: PersonaListSerializer, **ERRORS}, tags=["admin"])
    def get(self, request: Request) -> Response:
        return Response({"personas": PersonaSerializer(selectors.personas_list(), many=True).data})

    @extend_schema(request=PersonaUpsertInput, responses={200: PersonaUpsertedSerializer, **ERRORS}, tags=["admin"])
    def post(self, request: Request) -> Response:
        data = parsed(PersonaUpsertInput, request)
        user = services.persona_upsert(
            operator=actor_of(request),
            email=data["email"],
            name=data["name"],
            password=data["password"],
            archetype=data["archetype"],
            system_prompt=data["systemPrompt"],
            module_mix=data["moduleMix"],
            tick_cadence=data.get("tickCadence"),
            origin=origin_of(request),
        )
        return Response({"ok": True, "userId": user.id, "email": user.email}, headers=NO_STORE)


class AdminPersonaView(AdminView):
    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["admin"])
    def delete(self, request: Request, user_id: str) -> Response:
        services.persona_delete(operator=actor_of(request), user_id=user_id, origin=origin_of(request))
        return success()


class InternalDuePersonasView(ServiceView):
    @extend_schema(responses={200: DuePersonasSerializer, **ERRORS}, tags=["internal"])
    def get(self, request: Request) -> Response:
        now = selectors.server_time()
        personas = DuePersonaSerializer(selectors.personas_due(now=now), many=True).data
        return Response({"personas": personas, "serverTime": now}, headers=NO_STORE)


class InternalPersonaActionsView(ServiceView):
    @extend_schema(request=ActionsInput, responses={200: PersonaWrittenSerializer, **ERRORS}, tags=["internal"])
    def post(self, request: Request, user_id: str) -> Response:
        written = services.persona_actions_record(user_id=user_id, actions=parsed(ActionsInput, request)["actions"])
        return Response({"ok": True, "written": written})


class InternalPersonaFeedbackView(ServiceView):
    @extend_schema(request=FeedbackListInput, responses={200: PersonaWrittenSerializer, **ERRORS}, tags=["internal"])
    def post(self, request: Request, user_id: str) -> Response:
        written = services.persona_feedback_record(user_id=user_id, feedback=parsed(FeedbackListInput, request)["feedback"])
        return Response({"ok": True, "written": written})
