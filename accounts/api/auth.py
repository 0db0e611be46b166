"""Sign-up, sign-in, tokens and password recovery: /api/v1/auth."""

from django.utils import translation
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import jwt
from accounts.api.common import device_token_of, sign_in_response, token_pair_body
from accounts.authentication import BearerAuthentication, actor_of, session_id_of
from accounts.models import User
from accounts.serializers import (
    EmailInput,
    JwksSerializer,
    LoginInput,
    LogoutInput,
    RefreshInput,
    RegisterInput,
    ResetPasswordInput,
    SignInSerializer,
    SignupStatusSerializer,
    TokenInput,
    TokenPairSerializer,
    UserEnvelopeSerializer,
    UserSerializer,
    ValidateResultSerializer,
)
from accounts.services import passwords, registration, sessions, signin, tokens
from core.api import ERRORS, NO_STORE, PublicView, parsed, success
from core.auth import ServiceKeyAuthentication
from core.origin import origin_of
from core.serializers import SuccessSerializer


class SignupStatusView(PublicView):
    @extend_schema(responses={200: SignupStatusSerializer}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(SignupStatusSerializer(registration.signup_status()).data)


class RegisterView(PublicView):
    @extend_schema(request=RegisterInput, responses={201: UserEnvelopeSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(RegisterInput, request)
        language = translation.get_language_from_request(request._request)
        user = registration.user_register(
            email=data["email"], password=data["password"], name=data["name"], language=language, origin=origin_of(request)
        )
        return Response({"user": UserSerializer(user).data}, status=201)


class VerifyEmailView(PublicView):
    @extend_schema(request=TokenInput, responses={200: SignInSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        return sign_in_response(registration.email_verify(token=parsed(TokenInput, request)["token"], origin=origin_of(request)))


class ResendVerificationView(PublicView):
    @extend_schema(request=EmailInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        registration.verification_resend(email=parsed(EmailInput, request)["email"], origin=origin_of(request))
        return success()


class LoginView(PublicView):
    @extend_schema(request=LoginInput, responses={200: SignInSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(LoginInput, request)
        return sign_in_response(
            signin.password_sign_in(
                email=data["email"], password=data["password"], device_token=device_token_of(request, data), origin=origin_of(request)
            )
        )


class RefreshView(PublicView):
    @extend_schema(request=RefreshInput, responses={200: TokenPairSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        pair = tokens.token_refresh(refresh_token=parsed(RefreshInput, request)["refreshToken"], origin=origin_of(request))
        return Response(token_pair_body(pair), headers=NO_STORE)


class SessionToTokenView(APIView):
    """The browser pages' Django session → a token pair for the platform's web apps."""

    authentication_classes = (SessionAuthentication,)
    permission_classes = (IsAuthenticated,)

    @extend_schema(request=None, responses={200: TokenPairSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        pair = tokens.session_start(user=actor_of(request), origin=origin_of(request), method="browser_session")
        return Response(token_pair_body(pair), headers=NO_STORE)


class LogoutView(APIView):
    authentication_classes = (BearerAuthentication,)

    @extend_schema(request=LogoutInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(LogoutInput, request)
        sessions.session_sign_out(
            origin=origin_of(request),
            actor=request.user if isinstance(request.user, User) else None,
            session_id=session_id_of(request),
            refresh_token=data.get("refreshToken"),
        )
        return success()


class ValidateView(APIView):
    """For sibling services (with X-Service-Key) and clients alike; a wrong service key is 401."""

    authentication_classes = (ServiceKeyAuthentication,)

    @extend_schema(request=TokenInput, responses={200: ValidateResultSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        check = tokens.access_token_check(parsed(TokenInput, request)["token"], load_session=False)
        if check.valid:
            return Response({"valid": True, "payload": check.payload})
        return Response({"valid": False, "reason": check.reason})


class JwksView(PublicView):
    @extend_schema(responses={200: JwksSerializer}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(jwt.jwks(), headers={"Cache-Control": "public, max-age=300"})


class ForgotPasswordView(PublicView):
    @extend_schema(request=EmailInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        passwords.password_reset_request(email=parsed(EmailInput, request)["email"], origin=origin_of(request))
        return success()


class ResetPasswordView(PublicView):
    @extend_schema(request=ResetPasswordInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(ResetPasswordInput, request)
        passwords.password_reset_complete(token=data["token"], new_password=data["newPassword"], origin=origin_of(request))
        return success()
