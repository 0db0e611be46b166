"""The Better Auth organization API (PLATFORM.md §4) and /api/v1/auth/organizations/{id} (§1):
another door to the spaces services behind /api/v1/spaces, with the platform's shapes."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import CookieOrBearerAuthentication, actor_of, session_id_of
from core.api import ERRORS, UserView, parsed
from core.origin import origin_of
from spaces import selectors, services
from spaces.serializers_organizations import (
    ActiveMemberSerializer,
    InvitationAnswerSerializer,
    InvitationDetailSerializer,
    InvitationIdInput,
    InvitationQuery,
    InviteMemberInput,
    OrganizationCreatedSerializer,
    OrganizationCreateInput,
    OrganizationInvitationSerializer,
    OrganizationMemberEnvelopeSerializer,
    OrganizationMemberListSerializer,
    OrganizationMemberSerializer,
    OrganizationQuery,
    OrganizationSerializer,
    OrganizationUpdateInput,
    OrganizationWithRoleSerializer,
    RemoveMemberInput,
    SetActiveInput,
)

TAGS = ["organization"]
ORGANIZATION_ID_PARAMETER = OpenApiParameter("organizationId", str, required=False, description="Default: the active space")


def queried(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class OrganizationView(UserView):
    """The web app sends its session cookie (and the stored Bearer); other callers a Bearer only."""

    authentication_classes = (CookieOrBearerAuthentication,)


class ListView(OrganizationView):
    @extend_schema(operation_id="organization_list", responses={200: OrganizationWithRoleSerializer(many=True), **ERRORS}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response(OrganizationWithRoleSerializer(selectors.memberships_of(actor=actor_of(request)), many=True).data)


class CreateView(OrganizationView):
    @extend_schema(request=OrganizationCreateInput, responses={200: OrganizationCreatedSerializer, **ERRORS}, tags=TAGS)
    def post(self, request: Request) -> Response:
        data = parsed(OrganizationCreateInput, request)
        membership = services.space_create_active(
            actor=actor_of(request),
            session_id=session_id_of(request),
            name=data["name"],
            slug=data.get("slug"),
            logo=data.get("logo") or "",
            metadata=data.get("metadata"),
            origin=origin_of(request),
        )
        return Response(OrganizationCreatedSerializer(membership).data)


class SetActiveView(OrganizationView):
    @extend_schema(request=SetActiveInput, responses={200: OrganizationSerializer, **ERRORS}, tags=TAGS)
    def post(self, request: Request) -> Response:
        membership = services.space_activate(
            actor=actor_of(request),
            session_id=session_id_of(request),
            space_id=parsed(SetActiveInput, request)["organizationId"],
            origin=origin_of(request),
        )
        return Response(OrganizationSerializer(membership.space).data if membership else None)


class ActiveMemberView(OrganizationView):
    @extend_schema(responses={200: ActiveMemberSerializer, **ERRORS}, tags=TAGS)
    def get(self, request: Request) -> Response:
        membership = services.active_membership_of(actor=actor_of(request), session_id=session_id_of(request))
        return Response(ActiveMemberSerializer(membership).data)


class MemberListView(OrganizationView):
    @extend_schema(parameters=[ORGANIZATION_ID_PARAMETER], responses={200: OrganizationMemberListSerializer, **ERRORS}, tags=TAGS)
    def get(self, request: Request) -> Response:
        space_id = queried(OrganizationQuery, request)["organizationId"]
        mine = services.membership_in(actor=actor_of(request), session_id=session_id_of(request), space_id=space_id)
        members = OrganizationMemberSerializer(selectors.members_of_space(space_id=mine.space_id), many=True).data
        return Response({"members": members, "total": len(members)})


class InvitationListView(OrganizationView):
    @extend_schema(
        parameters=[ORGANIZATION_ID_PARAMETER], responses={200: OrganizationInvitationSerializer(many=True), **ERRORS}, tags=TAGS
    )
    def get(self, request: Request) -> Response:
        space_id = queried(OrganizationQuery, request)["organizationId"]
        mine = services.membership_in(actor=actor_of(request), session_id=session_id_of(request), space_id=space_id)
        return Response(OrganizationInvitationSerializer(selectors.invitations_of_space(space_id=mine.space_id), many=True).data)


class InviteMemberView(OrganizationView):
    @extend_schema(request=InviteMemberInput, responses={200: OrganizationInvitationSerializer, **ERRORS}, tags=TAGS)
    def post(self, request: Request) -> Response:
        data = parsed(InviteMemberInput, request)
        invitation = services.invitation_create(
            actor=actor_of(request), space_id=data["organizationId"], email=data["email"], role=data["role"], origin=origin_of(request)
        )
        return Response(OrganizationInvitationSerializer(invitation).data)


class InvitationView(OrganizationView):
    @extend_schema(
        parameters=[OpenApiParameter("id", str, required=True)], responses={200: InvitationDetailSerializer, **ERRORS}, tags=TAGS
    )
    def get(self, request: Request) -> Response:
        invitation = services.invitation_of_invitee(actor=actor_of(request), invitation_id=queried(InvitationQuery, request)["id"])
        return Response(InvitationDetailSerializer(invitation).data)


class AcceptInvitationView(OrganizationView):
    @extend_schema(request=InvitationIdInput, responses={200: InvitationAnswerSerializer, **ERRORS}, tags=TAGS)
    def post(self, request: Request) -> Response:
        invitation_id = parsed(InvitationIdInput, request)["invitationId"]
        invitation, member = services.invitation_join(actor=actor_of(request), reference=invitation_id, origin=origin_of(request))
        return Response(InvitationAnswerSerializer({"invitation": invitation, "member": member}).data)


class RejectInvitationView(OrganizationView):
    @extend_schema(request=InvitationIdInput, responses={200: InvitationAnswerSerializer, **ERRORS}, tags=TAGS)
    def post(self, request: Request) -> Response:
        invitation_id = parsed(InvitationIdInput, request)["invitationId"]
        invitation = services.invitation_reject(actor=actor_of(request), invitation_id=invitation_id, origin=origin_of(request))
        return Response(InvitationAnswerSerializer({"invitation": invitation, "member": None}).data)


class CancelInvitationView(OrganizationView):
    @extend_schema(request=InvitationIdInput, responses={200: OrganizationInvitationSerializer, **ERRORS}, tags=TAGS)
    def post(self, request: Request) -> Response:
        invitation_id = parsed(InvitationIdInput, request)["invitationId"]
        invitation = services.invitation_cancel(actor=actor_of(request), invitation_id=invitation_id, origin=origin_of(request))
        return Response(OrganizationInvitationSerializer(invitation).data)


class RemoveMemberView(OrganizationView):
    @extend_schema(request=RemoveMemberInput, responses={200: OrganizationMemberEnvelopeSerializer, **ERRORS}, tags=TAGS)
    def post(self, request: Request) -> Response:
        data = parsed(RemoveMemberInput, request)
        member = services.member_remove_by_reference(
            actor=actor_of(request), space_id=data["organizationId"], reference=data["memberIdOrEmail"], origin=origin_of(request)
        )
        return Response({"member": OrganizationMemberSerializer(member).data})


class OrganizationDetailView(UserView):
    """/api/v1/auth/organizations/{id} (PLATFORM.md §1): Bearer, members only."""

    @extend_schema(operation_id="organization_retrieve", responses={200: OrganizationSerializer, **ERRORS}, tags=TAGS)
    def get(self, request: Request, space_id: str) -> Response:
        return Response(OrganizationSerializer(services.membership_of(actor_of(request), space_id).space).data)

    @extend_schema(request=OrganizationUpdateInput, responses={200: OrganizationSerializer, **ERRORS}, tags=TAGS)
    def put(self, request: Request, space_id: str) -> Response:
        metadata = parsed(OrganizationUpdateInput, request)["metadata"]
        membership = services.space_update(
            actor=actor_of(request), space_id=space_id, changes={"metadata": metadata}, origin=origin_of(request)
        )
        return Response(OrganizationSerializer(membership.space).data)
