from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import actor_of, session_id_of
from core.api import ERRORS, PublicView, ServiceView, UserView, parsed, success
from core.origin import origin_of
from core.serializers import SuccessSerializer
from spaces import selectors, services, services_api_keys
from spaces.modules import module_allowed
from spaces.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateInput,
    ApiKeySerializer,
    ApiKeyValidateInput,
    ApiKeyValidationSerializer,
    InvitationEnvelopeSerializer,
    InvitationInput,
    InvitationSerializer,
    MemberEnvelopeSerializer,
    MemberListSerializer,
    MemberSerializer,
    MembershipLookupSerializer,
    MembershipsLookupSerializer,
    ModuleAllowedSerializer,
    RoleInput,
    SpaceCreateInput,
    SpaceEnvelopeSerializer,
    SpaceListSerializer,
    SpaceSerializer,
    SpaceTypesSerializer,
    SpaceUpdateInput,
    space_types,
)


class SpaceTypesView(UserView):
    @extend_schema(responses={200: SpaceTypesSerializer, **ERRORS}, tags=["spaces"])
    def get(self, request: Request) -> Response:
        return Response({"types": space_types()})


class SpaceListView(UserView):
    @extend_schema(operation_id="spaces_list", responses={200: SpaceListSerializer, **ERRORS}, tags=["spaces"])
    def get(self, request: Request) -> Response:
        return Response({"spaces": SpaceSerializer(selectors.memberships_of(actor=actor_of(request)), many=True).data})

    @extend_schema(request=SpaceCreateInput, responses={201: SpaceEnvelopeSerializer, **ERRORS}, tags=["spaces"])
    def post(self, request: Request) -> Response:
        data = parsed(SpaceCreateInput, request)
        membership = services.space_create(
            actor=actor_of(request),
            name=data["name"],
            space_type=data["type"],
            slug=data.get("slug"),
            metadata=data.get("metadata"),
            origin=origin_of(request),
        )
        return Response({"space": SpaceSerializer(membership).data}, status=201)


class SpaceView(UserView):
    @extend_schema(responses={200: SpaceEnvelopeSerializer, **ERRORS}, tags=["spaces"])
    def get(self, request: Request, space_id: str) -> Response:
        return Response({"space": SpaceSerializer(services.membership_of(actor_of(request), space_id)).data})

    @extend_schema(request=SpaceUpdateInput, responses={200: SpaceEnvelopeSerializer, **ERRORS}, tags=["spaces"])
    def patch(self, request: Request, space_id: str) -> Response:
        membership = services.space_update(
            actor=actor_of(request), space_id=space_id, changes=parsed(SpaceUpdateInput, request), origin=origin_of(request)
        )
        return Response({"space": SpaceSerializer(membership).data})

    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["spaces"])
    def delete(self, request: Request, space_id: str) -> Response:
        services.space_delete(actor=actor_of(request), space_id=space_id, origin=origin_of(request))
        return success()


class MemberListView(UserView):
    @extend_schema(responses={200: MemberListSerializer, **ERRORS}, tags=["spaces"])
    def get(self, request: Request, space_id: str) -> Response:
        services.membership_of(actor_of(request), space_id)
        return Response({"members": MemberSerializer(selectors.members_of_space(space_id=space_id), many=True).data})


class MemberView(UserView):
    @extend_schema(request=RoleInput, responses={200: MemberEnvelopeSerializer, **ERRORS}, tags=["spaces"])
    def patch(self, request: Request, space_id: str, member_id: str) -> Response:
        role = parsed(RoleInput, request)["role"]
        member = services.member_role_change(
            actor=actor_of(request), space_id=space_id, member_id=member_id, role=role, origin=origin_of(request)
        )
        return Response({"member": MemberSerializer(member).data})

    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["spaces"])
    def delete(self, request: Request, space_id: str, member_id: str) -> Response:
        services.member_remove(actor=actor_of(request), space_id=space_id, member_id=member_id, origin=origin_of(request))
        return success()


class InvitationCreateView(UserView):
    @extend_schema(request=InvitationInput, responses={201: InvitationEnvelopeSerializer, **ERRORS}, tags=["spaces"])
    def post(self, request: Request, space_id: str) -> Response:
        data = parsed(InvitationInput, request)
        invitation = services.invitation_create(
            actor=actor_of(request), space_id=space_id, email=data["email"], role=data["role"], origin=origin_of(request)
        )
        return Response({"invitation": InvitationSerializer(invitation).data}, status=201)


class InvitationAcceptView(UserView):
    @extend_schema(request=None, responses={200: SpaceEnvelopeSerializer, **ERRORS}, tags=["spaces"])
    def post(self, request: Request, token: str) -> Response:
        membership = services.invitation_accept(actor=actor_of(request), token=token, origin=origin_of(request))
        return Response({"space": SpaceSerializer(membership).data})


class ModuleView(UserView):
    @extend_schema(responses={200: ModuleAllowedSerializer, **ERRORS}, tags=["spaces"])
    def get(self, request: Request, space_id: str, module: str) -> Response:
        membership = services.membership_of(actor_of(request), space_id)
        return Response({"allowed": module_allowed(membership.space.type, module)})


class InternalMemberView(ServiceView):
    @extend_schema(responses={200: MembershipLookupSerializer, **ERRORS}, tags=["internal"])
    def get(self, request: Request, space_id: str, user_id: str) -> Response:
        membership = selectors.membership_lookup(space_id=space_id, user_id=user_id)
        return Response({"isMember": membership is not None, "role": membership.role if membership else None})


class InternalMembershipsView(ServiceView):
    @extend_schema(responses={200: MembershipsLookupSerializer, **ERRORS}, tags=["internal"])
    def get(self, request: Request, user_id: str) -> Response:
        return Response({"userId": user_id, "memberships": selectors.memberships_lookup(user_id=user_id)})


class ApiKeyListView(UserView):
    @extend_schema(responses={200: ApiKeySerializer(many=True), **ERRORS}, tags=["api-keys"])
    def get(self, request: Request) -> Response:
        return Response(ApiKeySerializer(selectors.api_keys_of(actor=actor_of(request)), many=True).data)

    @extend_schema(request=ApiKeyCreateInput, responses={201: ApiKeyCreatedSerializer, **ERRORS}, tags=["api-keys"])
    def post(self, request: Request) -> Response:
        data = parsed(ApiKeyCreateInput, request)
        key, secret = services_api_keys.api_key_create(
            actor=actor_of(request),
            name=data["name"],
            scopes=data.get("scopes"),
            space_id=data.get("spaceId"),
            rate_limit=data["rateLimitRequests"],
            origin=origin_of(request),
            session_id=session_id_of(request),
            password=data.get("password"),
            code=data.get("code"),
        )
        return Response({**ApiKeySerializer(key).data, "key": secret}, status=201, headers={"Cache-Control": "no-store"})


class ApiKeyView(UserView):
    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["api-keys"])
    def delete(self, request: Request, key_id: str) -> Response:
        services_api_keys.api_key_revoke(actor=actor_of(request), key_id=key_id, origin=origin_of(request))
        return success()


class ApiKeyValidateView(PublicView):
    """No credential (the speech services send none) and always 200 (PLATFORM.md §5): a body
    that names no usable key is answered like an unknown key."""

    # Only a body that is not JSON at all is refused (400, by the parser).
    @extend_schema(request=ApiKeyValidateInput, responses={200: ApiKeyValidationSerializer, 400: ERRORS[400]}, tags=["api-keys"])
    def post(self, request: Request) -> Response:
        data = ApiKeyValidateInput(data=request.data)
        presented, scope = (data.validated_data["apiKey"], data.validated_data.get("scope")) if data.is_valid() else ("", None)
        return Response(services_api_keys.api_key_validate(presented=presented, scope=scope, origin=origin_of(request)))
