"""The second factor and the magic link: /api/v1/auth/two-factor, /api/v1/auth/magic-link."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.common import device_token_of, sign_in_response
from accounts.authentication import actor_of
from accounts.serializers import (
    BackupCodesSerializer,
    EmailInput,
    MagicLinkVerifyInput,
    PasswordInput,
    SignInSerializer,
    TwoFactorCodeInput,
    TwoFactorEnrollmentSerializer,
    TwoFactorVerifyInput,
)
from accounts.services import magic_link, two_factor
from core.api import ERRORS, NO_STORE, PublicView, UserView, parsed, success
from core.origin import origin_of
from core.serializers import SuccessSerializer


class TwoFactorVerifyView(PublicView):
    @extend_schema(request=TwoFactorVerifyInput, responses={200: SignInSerializer, **ERRORS}, tags=["two-factor"])
    def post(self, request: Request) -> Response:
        data = parsed(TwoFactorVerifyInput, request)
        sign_in = two_factor.two_factor_verify(
            token=data["twoFactorToken"],
            code=data.get("code"),
            backup_code=data.get("backupCode"),
            device_token=device_token_of(request, data),
            origin=origin_of(request),
        )
        return sign_in_response(sign_in)


class TwoFactorEnableView(UserView):
    @extend_schema(request=PasswordInput, responses={200: TwoFactorEnrollmentSerializer, **ERRORS}, tags=["two-factor"])
    def post(self, request: Request) -> Response:
        enrollment = two_factor.two_factor_enable(
            actor=actor_of(request), password=parsed(PasswordInput, request)["password"], origin=origin_of(request)
        )
        body = {"totpUri": enrollment.totp_uri, "secret": enrollment.secret, "backupCodes": enrollment.backup_codes}
        return Response(body, headers=NO_STORE)


class TwoFactorConfirmView(UserView):
    @extend_schema(request=TwoFactorCodeInput, responses={200: SuccessSerializer, **ERRORS}, tags=["two-factor"])
    def post(self, request: Request) -> Response:
        two_factor.two_factor_confirm(actor=actor_of(request), code=parsed(TwoFactorCodeInput, request)["code"], origin=origin_of(request))
        return success()


class TwoFactorDisableView(UserView):
    @extend_schema(request=PasswordInput, responses={200: SuccessSerializer, **ERRORS}, tags=["two-factor"])
    def post(self, request: Request) -> Response:
        two_factor.two_factor_disable(
            actor=actor_of(request), password=parsed(PasswordInput, request)["password"], origin=origin_of(request)
        )
        return success()


class BackupCodesView(UserView):
    @extend_schema(request=PasswordInput, responses={200: BackupCodesSerializer, **ERRORS}, tags=["two-factor"])
    def post(self, request: Request) -> Response:
        codes = two_factor.backup_codes_regenerate(
            actor=actor_of(request), password=parsed(PasswordInput, request)["password"], origin=origin_of(request)
        )
        return Response({"backupCodes": codes}, headers=NO_STORE)


class MagicLinkView(PublicView):
    @extend_schema(request=EmailInput, responses={200: SuccessSerializer, **ERRORS}, tags=["magic-link"])
    def post(self, request: Request) -> Response:
        magic_link.magic_link_request(email=parsed(EmailInput, request)["email"], origin=origin_of(request))
        return success()


class MagicLinkVerifyView(PublicView):
    @extend_schema(request=MagicLinkVerifyInput, responses={200: SignInSerializer, **ERRORS}, tags=["magic-link"])
    def post(self, request: Request) -> Response:
        data = parsed(MagicLinkVerifyInput, request)
        return sign_in_response(
            magic_link.magic_link_verify(token=data["token"], device_token=device_token_of(request, data), origin=origin_of(request))
        )
