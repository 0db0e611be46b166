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
from accounts.authentication import CookieAuthentication, CookieOrBearerAuthentication, actor_of, session_id_of
from accounts.browser_session import browser_session_id
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
from accounts.services.tokens import Device
from accounts.session_cookie import session_cookie_clear
from core.api import ERRORS, NO_STORE, PublicView, parsed, represented, success
from core.auth import ServiceKeyAuthentication
from core.origin import origin_of
from core.redirects import trusted_target
from core.serializers import SuccessSerializer


def _return_target(candidate: str | None) -> str | None:
    """A return target the platform's caller named, made trusted; None when it named none."""
    return trusted_target(candidate) if candidate else None


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
            email=data["email"],
            password=data["password"],
            name=data["name"],
            language=language,
            origin=origin_of(request),
            return_to=_return_target(data.get("sourceAppUrl")),
        )
        return Response({"user": UserSerializer(user).data}, status=201)


class VerifyEmailView(PublicView):
    @extend_schema(request=TokenInput, responses={200: SignInSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        return sign_in_response(registration.email_verify(token=parsed(TokenInput, request)["token"], origin=origin_of(request)))


class ResendVerificationView(PublicView):
    @extend_schema(request=EmailInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(EmailInput, request)
        registration.verification_resend(email=data["email"], origin=origin_of(request), return_to=_return_target(data.get("sourceAppUrl")))
        return success()


class LoginView(PublicView):
    @extend_schema(request=LoginInput, responses={200: SignInSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(LoginInput, request)
        sign_in = signin.password_sign_in(
            email=data["email"],
            password=data["password"],
            device_token=device_token_of(request, data),
            origin=origin_of(request),
            named=Device(id=data.get("deviceId", ""), name=data.get("deviceName", "")),
        )
        return sign_in_response(sign_in)


class RefreshView(PublicView):
    @extend_schema(request=RefreshInput, responses={200: TokenPairSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        pair = tokens.token_refresh(refresh_token=parsed(RefreshInput, request)["refreshToken"], origin=origin_of(request))
        return Response(token_pair_body(pair), headers=NO_STORE)


class SessionToTokenView(APIView):
    """A browser session → a token pair for the platform's web apps (the SSO hand-off): the
    platform's session cookie, or this service's own pages' Django session through the sign-in
    it is linked to. The tokens belong to that session: once it is revoked, none are minted."""

    authentication_classes = (CookieAuthentication, SessionAuthentication)
    permission_classes = (IsAuthenticated,)

    @extend_schema(request=None, responses={200: TokenPairSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        user = actor_of(request)
        session_id = session_id_of(request) or browser_session_id(request._request)
        pair = tokens.session_token_exchange(user=user, session_id=session_id, origin=origin_of(request))
        return Response({**token_pair_body(pair), "user": represented(UserSerializer, user)}, headers=NO_STORE)


class LogoutView(APIView):
    """Ends the session of the Bearer, the cookie or the refresh token; the cookie goes with it."""

    authentication_classes = (CookieOrBearerAuthentication,)

    @extend_schema(request=LogoutInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(LogoutInput, request)
        sessions.session_sign_out(
            origin=origin_of(request),
            actor=request.user if isinstance(request.user, User) else None,
            session_id=session_id_of(request),
            refresh_token=data.get("refreshToken"),
        )
        response = success()
        session_cookie_clear(response)
        return response


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
        data = parsed(EmailInput, request)
        passwords.password_reset_request(email=data["email"], origin=origin_of(request), return_to=_return_target(data.get("redirectTo")))
        return success()


class ResetPasswordView(PublicView):
    @extend_schema(request=ResetPasswordInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(ResetPasswordInput, request)
        passwords.password_reset_complete(token=data["token"], new_password=data["newPassword"], origin=origin_of(request))
        return success()
