"""The signed-in user's account: profile, address, password, deletion, sessions, events."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.authentication import CookieOrBearerAuthentication, actor_of, session_id_of
from accounts.serializers import (
    AccountDeleteInput,
    ChangeEmailInput,
    ChangePasswordInput,
    MessageSerializer,
    ProfileInput,
    ProfileSerializer,
    SecurityEventSerializer,
    SecurityEventsQuery,
    SessionSerializer,
    TokenInput,
    UserEnvelopeSerializer,
    UserSerializer,
)
from accounts.services import data_rights, passwords, profile, sessions
from core.api import ERRORS, PublicView, UserView, parsed, success
from core.origin import origin_of
from core.serializers import SuccessSerializer


class ProfileView(UserView):
    # The web app calls these with its cookie and whatever Bearer it stored (PLATFORM.md §1).
    authentication_classes = (CookieOrBearerAuthentication,)

    @extend_schema(responses={200: ProfileSerializer, **ERRORS}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(ProfileSerializer(actor_of(request)).data)

    @extend_schema(request=ProfileInput, responses={200: UserEnvelopeSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        user = profile.profile_update(actor=actor_of(request), origin=origin_of(request), **parsed(ProfileInput, request))
        return Response({"user": UserSerializer(user).data})


class ChangeEmailView(UserView):
    authentication_classes = (CookieOrBearerAuthentication,)

    @extend_schema(request=ChangeEmailInput, responses={200: MessageSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(ChangeEmailInput, request)
        profile.email_change_request(
            actor=actor_of(request),
            new_email=data["newEmail"],
            password=data.get("password"),
            session_id=session_id_of(request),
            origin=origin_of(request),
        )
        return Response({"success": True, "message": "A confirmation link was sent to the new address."})


class ConfirmEmailChangeView(PublicView):
    @extend_schema(request=TokenInput, responses={200: UserEnvelopeSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        user = profile.email_change_confirm(token=parsed(TokenInput, request)["token"], origin=origin_of(request))
        return Response({"user": UserSerializer(user).data})


class ChangePasswordView(UserView):
    authentication_classes = (CookieOrBearerAuthentication,)

    @extend_schema(request=ChangePasswordInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(ChangePasswordInput, request)
        passwords.password_change(
            actor=actor_of(request),
            current_password=data["currentPassword"],
            new_password=data["newPassword"],
            session_id=session_id_of(request),
            origin=origin_of(request),
        )
        return success()


class AccountView(UserView):
    authentication_classes = (CookieOrBearerAuthentication,)

    @extend_schema(request=AccountDeleteInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def delete(self, request: Request) -> Response:
        data_rights.account_delete(
            actor=actor_of(request),
            password=parsed(AccountDeleteInput, request)["password"],
            session_id=session_id_of(request),
            origin=origin_of(request),
        )
        return success()


class SessionsView(UserView):
    @extend_schema(responses={200: SessionSerializer(many=True), **ERRORS}, tags=["auth"])
    def get(self, request: Request) -> Response:
        active = selectors.sessions_active(actor=actor_of(request))
        return Response(SessionSerializer(active, many=True, context={"current_session_id": session_id_of(request)}).data)


class SessionView(UserView):
    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def delete(self, request: Request, session_id: str) -> Response:
        sessions.session_revoke(actor=actor_of(request), session_id=session_id, origin=origin_of(request))
        return success()


class SecurityEventsView(UserView):
    @extend_schema(parameters=[SecurityEventsQuery], responses={200: SecurityEventSerializer(many=True), **ERRORS}, tags=["auth"])
    def get(self, request: Request) -> Response:
        query = SecurityEventsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        events = selectors.security_events_recent(actor=actor_of(request), limit=query.validated_data["limit"])
        return Response(SecurityEventSerializer(events, many=True).data)
