"""The signed-in user's account: profile, address, password, deletion, sessions, events."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.authentication import actor_of, session_id_of
from accounts.serializers import (
    ChangeEmailInput,
    ChangePasswordInput,
    MessageSerializer,
    PasswordInput,
    ProfileInput,
    SecurityEventListSerializer,
    SecurityEventSerializer,
    SessionListSerializer,
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
    @extend_schema(responses={200: UserEnvelopeSerializer, **ERRORS}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response({"user": UserSerializer(actor_of(request)).data})

    @extend_schema(request=ProfileInput, responses={200: UserEnvelopeSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        user = profile.profile_update(actor=actor_of(request), origin=origin_of(request), **parsed(ProfileInput, request))
        return Response({"user": UserSerializer(user).data})


class ChangeEmailView(UserView):
    @extend_schema(request=ChangeEmailInput, responses={200: MessageSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(ChangeEmailInput, request)
        profile.email_change_request(
            actor=actor_of(request), new_email=data["newEmail"], password=data["password"], origin=origin_of(request)
        )
        return Response({"success": True, "message": "A confirmation link was sent to the new address."})


class ConfirmEmailChangeView(PublicView):
    @extend_schema(request=TokenInput, responses={200: UserEnvelopeSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        user = profile.email_change_confirm(token=parsed(TokenInput, request)["token"], origin=origin_of(request))
        return Response({"user": UserSerializer(user).data})


class ChangePasswordView(UserView):
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
    @extend_schema(request=PasswordInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def delete(self, request: Request) -> Response:
        data_rights.account_delete(
            actor=actor_of(request),
            password=parsed(PasswordInput, request)["password"],
            session_id=session_id_of(request),
            origin=origin_of(request),
        )
        return success()


class SessionsView(UserView):
    @extend_schema(responses={200: SessionListSerializer, **ERRORS}, tags=["auth"])
    def get(self, request: Request) -> Response:
        active = selectors.sessions_active(actor=actor_of(request))
        context = {"current_session_id": session_id_of(request)}
        return Response({"sessions": SessionSerializer(active, many=True, context=context).data})


class SessionView(UserView):
    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def delete(self, request: Request, session_id: str) -> Response:
        sessions.session_revoke(actor=actor_of(request), session_id=session_id, origin=origin_of(request))
        return success()


class SecurityEventsView(UserView):
    @extend_schema(responses={200: SecurityEventListSerializer, **ERRORS}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response({"events": SecurityEventSerializer(selectors.security_events_recent(actor=actor_of(request)), many=True).data})
