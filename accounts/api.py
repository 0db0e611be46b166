"""Thin HTTP edges of /api/v1/auth: parse, call one service, serialize."""

import json
import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils import timezone, translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import jwt, selectors, services
from accounts.authentication import BearerAuthentication, actor_of, session_id_of
from accounts.models import Role, User
from accounts.serializers import (
    SETTINGS_KEY,
    AdminStatsSerializer,
    AdminUserListSerializer,
    BackupCodesSerializer,
    ChangeEmailInput,
    ChangePasswordInput,
    DataSummarySerializer,
    EmailInput,
    EraseInput,
    JwksSerializer,
    LoginInput,
    LogoutInput,
    MagicLinkVerifyInput,
    MeProfileInput,
    MessageSerializer,
    OnboardingSerializer,
    PasswordInput,
    ProfileInput,
    RefreshInput,
    RegisterInput,
    ResetPasswordInput,
    SecurityEventListSerializer,
    SecurityEventSerializer,
    SessionListSerializer,
    SessionSerializer,
    SettingsDocumentInput,
    SignInSerializer,
    SignupStatusSerializer,
    TokenInput,
    TokenPairSerializer,
    TwoFactorCodeInput,
    TwoFactorEnrollmentSerializer,
    TwoFactorVerifyInput,
    UserEnvelopeSerializer,
    UserListQuery,
    UserSerializer,
    ValidateResultSerializer,
)
from core.auth import ServiceKeyAuthentication
from core.errors import ApiError, ErrorCode
from core.serializers import ErrorEnvelopeSerializer, SuccessSerializer

DEVICE_COOKIE = "mana_device"
DEVICE_COOKIE_AGE = timedelta(days=365)
NO_STORE = {"Cache-Control": "no-store"}
ERRORS = {400: ErrorEnvelopeSerializer, 401: ErrorEnvelopeSerializer, 403: ErrorEnvelopeSerializer, 404: ErrorEnvelopeSerializer,
          409: ErrorEnvelopeSerializer, 429: ErrorEnvelopeSerializer, 503: ErrorEnvelopeSerializer}  # fmt: skip


def parsed(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def token_pair_body(tokens: services.TokenPair) -> dict[str, Any]:
    return {
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
        "tokenType": "Bearer",
        "expiresIn": int(jwt.ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


def sign_in_response(sign_in: services.SignIn) -> Response:
    """The one answer of every sign-in that ends in tokens (API.md)."""
    body = {"user": UserSerializer(sign_in.user).data, **token_pair_body(sign_in.tokens), "deviceToken": sign_in.device_token}
    response = Response(body, headers=NO_STORE)
    response.set_cookie(
        DEVICE_COOKIE,
        sign_in.device_token,
        max_age=int(DEVICE_COOKIE_AGE.total_seconds()),
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
        domain=settings.COOKIE_DOMAIN,
    )
    return response


def success() -> Response:
    return Response({"success": True})


class PublicView(APIView):
    authentication_classes = ()


class UserView(APIView):
    authentication_classes = (BearerAuthentication,)
    permission_classes: tuple[type[BasePermission], ...] = (IsAuthenticated,)


class SignupStatusView(PublicView):
    @extend_schema(responses={200: SignupStatusSerializer}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(SignupStatusSerializer(services.signup_status()).data)


class RegisterView(PublicView):
    @extend_schema(request=RegisterInput, responses={201: UserEnvelopeSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(RegisterInput, request)
        language = translation.get_language_from_request(request._request)
        user = services.user_register(email=data["email"], password=data["password"], name=data["name"], language=language, request=request)
        return Response({"user": UserSerializer(user).data}, status=201)


class VerifyEmailView(PublicView):
    @extend_schema(request=TokenInput, responses={200: SignInSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        return sign_in_response(services.email_verify(token=parsed(TokenInput, request)["token"], request=request))


class ResendVerificationView(PublicView):
    @extend_schema(request=EmailInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        services.verification_resend(email=parsed(EmailInput, request)["email"], request=request)
        return success()


class LoginView(PublicView):
    @extend_schema(request=LoginInput, responses={200: SignInSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(LoginInput, request)
        return sign_in_response(
            services.login(email=data["email"], password=data["password"], device_token=device_token_of(request, data), request=request)
        )


class RefreshView(PublicView):
    @extend_schema(request=RefreshInput, responses={200: TokenPairSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        tokens = services.token_refresh(refresh_token=parsed(RefreshInput, request)["refreshToken"], request=request)
        return Response(token_pair_body(tokens), headers=NO_STORE)


class SessionToTokenView(APIView):
    """The browser pages' Django session → a token pair for the platform's web apps."""

    authentication_classes = (SessionAuthentication,)
    permission_classes = (IsAuthenticated,)

    @extend_schema(request=None, responses={200: TokenPairSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        tokens = services.session_start(user=actor_of(request), request=request, method="browser_session")
        return Response(token_pair_body(tokens), headers=NO_STORE)


class LogoutView(APIView):
    authentication_classes = (BearerAuthentication,)

    @extend_schema(request=LogoutInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(LogoutInput, request)
        services.logout(
            request=request,
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
        check = services.access_token_check(parsed(TokenInput, request)["token"], load_session=False)
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
        services.password_reset_request(email=parsed(EmailInput, request)["email"], request=request)
        return success()


class ResetPasswordView(PublicView):
    @extend_schema(request=ResetPasswordInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(ResetPasswordInput, request)
        services.password_reset_complete(token=data["token"], new_password=data["newPassword"], request=request)
        return success()


class ProfileView(UserView):
    @extend_schema(responses={200: UserEnvelopeSerializer, **ERRORS}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response({"user": UserSerializer(actor_of(request)).data})

    @extend_schema(request=ProfileInput, responses={200: UserEnvelopeSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        user = services.profile_update(actor=actor_of(request), request=request, **parsed(ProfileInput, request))
        return Response({"user": UserSerializer(user).data})


class ChangeEmailView(UserView):
    @extend_schema(request=ChangeEmailInput, responses={200: MessageSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(ChangeEmailInput, request)
        services.email_change_request(actor=actor_of(request), new_email=data["newEmail"], password=data["password"], request=request)
        return Response({"success": True, "message": "A confirmation link was sent to the new address."})


class ConfirmEmailChangeView(PublicView):
    @extend_schema(request=TokenInput, responses={200: UserEnvelopeSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        user = services.email_change_confirm(token=parsed(TokenInput, request)["token"], request=request)
        return Response({"user": UserSerializer(user).data})


class ChangePasswordView(UserView):
    @extend_schema(request=ChangePasswordInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = parsed(ChangePasswordInput, request)
        services.password_change(
            actor=actor_of(request),
            current_password=data["currentPassword"],
            new_password=data["newPassword"],
            session_id=session_id_of(request),
            request=request,
        )
        return success()


class AccountView(UserView):
    @extend_schema(request=PasswordInput, responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def delete(self, request: Request) -> Response:
        services.account_delete(actor=actor_of(request), password=parsed(PasswordInput, request)["password"], request=request)
        return success()


class SessionsView(UserView):
    @extend_schema(responses={200: SessionListSerializer, **ERRORS}, tags=["auth"])
    def get(self, request: Request) -> Response:
        sessions = selectors.sessions_active(actor=actor_of(request))
        context = {"current_session_id": session_id_of(request)}
        return Response({"sessions": SessionSerializer(sessions, many=True, context=context).data})


class SessionView(UserView):
    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["auth"])
    def delete(self, request: Request, session_id: str) -> Response:
        services.session_revoke(actor=actor_of(request), session_id=session_id, request=request)
        return success()


class SecurityEventsView(UserView):
    @extend_schema(responses={200: SecurityEventListSerializer, **ERRORS}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response({"events": SecurityEventSerializer(selectors.security_events_recent(actor=actor_of(request)), many=True).data})


def device_token_of(request: Request, data: dict[str, Any]) -> str | None:
    return data.get("deviceToken") or request.COOKIES.get(DEVICE_COOKIE)


class TwoFactorVerifyView(PublicView):
    @extend_schema(request=TwoFactorVerifyInput, responses={200: SignInSerializer, **ERRORS}, tags=["two-factor"])
    def post(self, request: Request) -> Response:
        data = parsed(TwoFactorVerifyInput, request)
        sign_in = services.two_factor_verify(
            token=data["twoFactorToken"],
            code=data.get("code"),
            backup_code=data.get("backupCode"),
            device_token=device_token_of(request, data),
            request=request,
        )
        return sign_in_response(sign_in)


class TwoFactorEnableView(UserView):
    @extend_schema(request=PasswordInput, responses={200: TwoFactorEnrollmentSerializer, **ERRORS}, tags=["two-factor"])
    def post(self, request: Request) -> Response:
        enrollment = services.two_factor_enable(
            actor=actor_of(request), password=parsed(PasswordInput, request)["password"], request=request
        )
        body = {"totpUri": enrollment.totp_uri, "secret": enrollment.secret, "backupCodes": enrollment.backup_codes}
        return Response(body, headers=NO_STORE)


class TwoFactorConfirmView(UserView):
    @extend_schema(request=TwoFactorCodeInput, responses={200: SuccessSerializer, **ERRORS}, tags=["two-factor"])
    def post(self, request: Request) -> Response:
        services.two_factor_confirm(actor=actor_of(request), code=parsed(TwoFactorCodeInput, request)["code"], request=request)
        return success()


class TwoFactorDisableView(UserView):
    @extend_schema(request=PasswordInput, responses={200: SuccessSerializer, **ERRORS}, tags=["two-factor"])
    def post(self, request: Request) -> Response:
        services.two_factor_disable(actor=actor_of(request), password=parsed(PasswordInput, request)["password"], request=request)
        return success()


class BackupCodesView(UserView):
    @extend_schema(request=PasswordInput, responses={200: BackupCodesSerializer, **ERRORS}, tags=["two-factor"])
    def post(self, request: Request) -> Response:
        codes = services.backup_codes_regenerate(
            actor=actor_of(request), password=parsed(PasswordInput, request)["password"], request=request
        )
        return Response({"backupCodes": codes}, headers=NO_STORE)


class MagicLinkView(PublicView):
    @extend_schema(request=EmailInput, responses={200: SuccessSerializer, **ERRORS}, tags=["magic-link"])
    def post(self, request: Request) -> Response:
        services.magic_link_request(email=parsed(EmailInput, request)["email"], request=request)
        return success()


class MagicLinkVerifyView(PublicView):
    @extend_schema(request=MagicLinkVerifyInput, responses={200: SignInSerializer, **ERRORS}, tags=["magic-link"])
    def post(self, request: Request) -> Response:
        data = parsed(MagicLinkVerifyInput, request)
        return sign_in_response(
            services.magic_link_verify(token=data["token"], device_token=device_token_of(request, data), request=request)
        )


# --- operators: /api/v1/admin ---------------------------------------------------------------------
class IsAdminRole(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, User) and request.user.role == Role.ADMIN


class AdminView(UserView):
    permission_classes = (IsAuthenticated, IsAdminRole)


def _target(user_id: str) -> User:
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise ApiError(ErrorCode.NOT_FOUND)
    return target


class AdminStatsView(AdminView):
    @extend_schema(responses={200: AdminStatsSerializer, **ERRORS}, tags=["admin"])
    def get(self, request: Request) -> Response:
        return Response(selectors.admin_stats())


class AdminUsersView(AdminView):
    @extend_schema(parameters=[UserListQuery], responses={200: AdminUserListSerializer, **ERRORS}, tags=["admin"])
    def get(self, request: Request) -> Response:
        query = UserListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page, limit = query.validated_data["page"], query.validated_data["limit"]
        users, total = selectors.users_page(search=query.validated_data["search"], page=page, limit=limit)
        return Response({"users": UserSerializer(users, many=True).data, "page": page, "limit": limit, "total": total})


class AdminUserDataView(AdminView):
    @extend_schema(responses={200: DataSummarySerializer, **ERRORS}, tags=["admin"])
    def get(self, request: Request, user_id: str) -> Response:
        return Response(DataSummarySerializer(selectors.data_summary(user=_target(user_id))).data)

    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["admin"])
    def delete(self, request: Request, user_id: str) -> Response:
        services.admin_delete_user(operator=actor_of(request), target=_target(user_id), request=request)
        return success()


class AdminUnlockView(AdminView):
    @extend_schema(request=None, responses={200: SuccessSerializer, **ERRORS}, tags=["admin"])
    def post(self, request: Request, user_id: str) -> Response:
        services.admin_unlock(operator=actor_of(request), email=_target(user_id).email, request=request)
        return success()


# --- the caller's own data: /api/v1/me and /api/v1/settings ----------------------------------------
class MeDataView(UserView):
    @extend_schema(responses={200: DataSummarySerializer, **ERRORS}, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(DataSummarySerializer(selectors.data_summary(user=actor_of(request))).data)

    @extend_schema(request=EraseInput, responses={200: SuccessSerializer, **ERRORS}, tags=["me"])
    def delete(self, request: Request) -> Response:
        password = parsed(EraseInput, request).get("password")
        services.data_erase(actor=actor_of(request), password=password, session_id=session_id_of(request), request=request)
        return success()


class MeExportView(UserView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["me"])
    def get(self, request: Request) -> HttpResponse:
        export = selectors.data_export(user=actor_of(request))
        body = json.dumps(export, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        filename = f"mana-auth-export-{timezone.now():%Y-%m-%d}.json"
        return HttpResponse(
            body,
            content_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
        )


class MeProfileView(UserView):
    @extend_schema(request=MeProfileInput, responses={200: UserEnvelopeSerializer, **ERRORS}, tags=["me"])
    def patch(self, request: Request) -> Response:
        user = services.profile_update(actor=actor_of(request), request=request, **parsed(MeProfileInput, request))
        return Response({"user": UserSerializer(user).data})


def onboarding_body(user: User) -> dict[str, Any]:
    return dict(OnboardingSerializer({"completedAt": user.onboarding_completed_at}).data)


class OnboardingView(UserView):
    @extend_schema(responses={200: OnboardingSerializer, **ERRORS}, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(onboarding_body(actor_of(request)))


class OnboardingCompleteView(UserView):
    @extend_schema(request=None, responses={200: OnboardingSerializer, **ERRORS}, tags=["me"])
    def post(self, request: Request) -> Response:
        return Response(onboarding_body(services.onboarding_complete(actor=actor_of(request))))


class OnboardingResetView(UserView):
    @extend_schema(request=None, responses={200: OnboardingSerializer, **ERRORS}, tags=["me"])
    def patch(self, request: Request) -> Response:
        return Response(onboarding_body(services.onboarding_reset(actor=actor_of(request))))


def _settings_key(value: str, field: str) -> str:
    if not re.fullmatch(SETTINGS_KEY, value):
        raise ApiError(ErrorCode.VALIDATION, fields={field: ["Use 1-64 letters, digits, '.', '_' or '-'."]})
    return value


class SettingsView(UserView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["settings"])
    def get(self, request: Request) -> Response:
        return Response(services.settings_view(actor=actor_of(request)))


class GlobalSettingsView(UserView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["settings"])
    def patch(self, request: Request) -> Response:
        return Response(services.settings_global_patch(actor=actor_of(request), patch=parsed(SettingsDocumentInput, request)))


class AppSettingsView(UserView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["settings"])
    def patch(self, request: Request, app_id: str) -> Response:
        patch = parsed(SettingsDocumentInput, request)
        return Response(services.settings_app_patch(actor=actor_of(request), app_id=_settings_key(app_id, "appId"), patch=patch))

    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["settings"])
    def delete(self, request: Request, app_id: str) -> Response:
        services.settings_app_delete(actor=actor_of(request), app_id=_settings_key(app_id, "appId"))
        return success()


class DeviceSettingsView(UserView):
    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["settings"])
    def patch(self, request: Request, device_id: str, app_id: str) -> Response:
        patch = parsed(SettingsDocumentInput, request)
        document = services.settings_device_patch(
            actor=actor_of(request), device_id=_settings_key(device_id, "deviceId"), app_id=_settings_key(app_id, "appId"), patch=patch
        )
        return Response(document)


class DevicesView(UserView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["settings"])
    def get(self, request: Request) -> Response:
        return Response({"devices": services.settings_devices(actor=actor_of(request))})


class DeviceView(UserView):
    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["settings"])
    def delete(self, request: Request, device_id: str) -> Response:
        services.settings_device_delete(actor=actor_of(request), device_id=_settings_key(device_id, "deviceId"))
        return success()
