from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.common import sign_in_response
from accounts.authentication import CookieOrBearerAuthentication, actor_of, session_id_of
from accounts.serializers import SignInSerializer
from core.api import ERRORS, PublicView, UserView, parsed, success
from core.origin import origin_of
from core.serializers import SuccessSerializer
from passkeys import selectors, services
from passkeys.serializers import (
    AuthenticateOptionsInput,
    CapabilitySerializer,
    CeremonyInput,
    PasskeyEnvelopeSerializer,
    PasskeySerializer,
    RegisterVerifyInput,
    RenameInput,
)

# PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON (WebAuthn Level 3), as py_webauthn builds them.
OPTIONS_SCHEMA = OpenApiTypes.OBJECT


class CapabilityView(PublicView):
    @extend_schema(responses={200: CapabilitySerializer}, tags=["passkeys"])
    def get(self, request: Request) -> Response:
        enabled = services.passkeys_enabled()
        return Response({"enabled": enabled, "conditionalUIAvailable": enabled, "rpId": settings.WEBAUTHN_RP_ID})


class RegisterOptionsView(UserView):
    authentication_classes = (CookieOrBearerAuthentication,)  # B (+C), PLATFORM.md §2

    @extend_schema(request=None, responses={200: OPTIONS_SCHEMA, **ERRORS}, tags=["passkeys"])
    def post(self, request: Request) -> Response:
        return Response(services.registration_options(actor=actor_of(request)), headers={"Cache-Control": "no-store"})


class RegisterVerifyView(UserView):
    authentication_classes = (CookieOrBearerAuthentication,)

    @extend_schema(request=RegisterVerifyInput, responses={201: PasskeyEnvelopeSerializer, **ERRORS}, tags=["passkeys"])
    def post(self, request: Request) -> Response:
        data = parsed(RegisterVerifyInput, request)
        services.refuse_if_cancelled(data["cancelled"])
        passkey = services.passkey_register(
            actor=actor_of(request),
            response=data["response"],
            name=data.get("name"),
            origin=origin_of(request),
            session_id=session_id_of(request),
            password=data.get("password"),
            code=data.get("code"),
        )
        return Response({"passkey": PasskeySerializer(passkey).data}, status=201)


class AuthenticateOptionsView(PublicView):
    @extend_schema(request=AuthenticateOptionsInput, responses={200: OPTIONS_SCHEMA, **ERRORS}, tags=["passkeys"])
    def post(self, request: Request) -> Response:
        email = parsed(AuthenticateOptionsInput, request).get("email")
        return Response(services.authentication_options(email=email, origin=origin_of(request)), headers={"Cache-Control": "no-store"})


class AuthenticateVerifyView(PublicView):
    @extend_schema(request=CeremonyInput, responses={200: SignInSerializer, **ERRORS}, tags=["passkeys"])
    def post(self, request: Request) -> Response:
        data = parsed(CeremonyInput, request)
        services.refuse_if_cancelled(data["cancelled"])
        return sign_in_response(services.passkey_sign_in(response=data["response"], origin=origin_of(request)))


class PasskeyListView(UserView):
    @extend_schema(responses={200: PasskeySerializer(many=True), **ERRORS}, tags=["passkeys"])
    def get(self, request: Request) -> Response:
        services.require_enabled()
        return Response(PasskeySerializer(selectors.passkeys_of(actor=actor_of(request)), many=True).data)


class PasskeyView(UserView):
    @extend_schema(request=RenameInput, responses={200: PasskeyEnvelopeSerializer, **ERRORS}, tags=["passkeys"])
    def patch(self, request: Request, passkey_id: str) -> Response:
        name = parsed(RenameInput, request)["name"]
        passkey = services.passkey_rename(actor=actor_of(request), passkey_id=passkey_id, name=name, origin=origin_of(request))
        return Response({"passkey": PasskeySerializer(passkey).data})

    @extend_schema(responses={200: SuccessSerializer, **ERRORS}, tags=["passkeys"])
    def delete(self, request: Request, passkey_id: str) -> Response:
        services.passkey_delete(actor=actor_of(request), passkey_id=passkey_id, origin=origin_of(request))
        return success()
