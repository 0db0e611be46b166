from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import actor_of
from core.api import ERRORS, NO_STORE, ServiceView, UserView, parsed, success
from core.origin import origin_of
from core.serializers import SuccessSerializer
from grants import selectors, services
from grants.crypto import DERIVATION_VERSION
from grants.serializers import (
    AuditQuery,
    DecryptAuditEntrySerializer,
    DecryptAuditInput,
    DecryptAuditListSerializer,
    GrantInput,
    GrantListSerializer,
    GrantSerializer,
    GrantStateSerializer,
    IssuedGrantSerializer,
    WrittenSerializer,
)


class MissionGrantView(UserView):
    @extend_schema(request=GrantInput, responses={200: IssuedGrantSerializer, **ERRORS}, tags=["grants"])
    def post(self, request: Request) -> Response:
        data = parsed(GrantInput, request)
        issued = services.grant_issue(
            actor=actor_of(request),
            mission_id=data["missionId"],
            tables=data["tables"],
            record_ids=data["recordIds"],
            ttl_ms=data.get("ttlMs"),
            origin=origin_of(request),
        )
        body = {
            "grantId": issued.grant.id,
            "wrappedKey": issued.wrapped_key,
            "derivation": {
                "version": DERIVATION_VERSION,
                "missionId": issued.grant.mission_id,
                "tables": issued.tables,
                "recordIds": issued.record_ids,
            },
            "issuedAt": issued.grant.issued_at,
            "expiresAt": issued.grant.expires_at,
        }
        # The body as it is (IssuedGrantSerializer documents it): the renderer writes its datetimes
        # as the serializer would, without building a serializer per grant.
        return Response(body, headers=NO_STORE)


class MissionGrantListView(UserView):
    @extend_schema(responses={200: GrantListSerializer, **ERRORS}, tags=["grants"])
    def get(self, request: Request) -> Response:
        return Response({"grants": GrantSerializer(selectors.grants_of(actor=actor_of(request)), many=True).data})


class MissionGrantItemView(UserView):
    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["grants"])
    def delete(self, request: Request, grant_id: str) -> Response:
        services.grant_revoke(actor=actor_of(request), grant_id=grant_id, origin=origin_of(request))
        return success()


class AiAuditView(UserView):
    @extend_schema(
        parameters=[OpenApiParameter("missionId", str, required=False), OpenApiParameter("limit", int, required=False)],
        responses={200: DecryptAuditListSerializer, **ERRORS},
        tags=["grants"],
    )
    def get(self, request: Request) -> Response:
        query = AuditQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        entries = selectors.decrypt_audit_of(
            actor=actor_of(request), mission_id=query.validated_data.get("missionId"), limit=query.validated_data["limit"]
        )
        return Response({"entries": DecryptAuditEntrySerializer(entries, many=True).data})


class InternalGrantView(ServiceView):
    @extend_schema(responses={200: GrantStateSerializer, **ERRORS}, tags=["internal"])
    def get(self, request: Request, grant_id: str) -> Response:
        return Response(GrantStateSerializer(services.grant_state(grant_id=grant_id)).data)


class InternalDecryptAuditView(ServiceView):
    @extend_schema(request=DecryptAuditInput, responses={201: WrittenSerializer, **ERRORS}, tags=["internal"])
    def post(self, request: Request) -> Response:
        data = parsed(DecryptAuditInput, request)
        written = services.decrypt_audit_write(
            user_id=data["userId"],
            mission_id=data["missionId"],
            iteration_id=data["iterationId"],
            entries=data["entries"],
            batch_id=data.get("batchId"),
        )
        return Response({"written": written}, status=201)
