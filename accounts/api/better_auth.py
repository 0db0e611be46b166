"""The Better Auth-style routes the platform's clients call, /api/auth/* (PLATFORM.md §3): the
same services as /api/v1/auth, another door. Browser-facing: the session cookie, and a trusted
Origin on every state-changing call."""

from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import jwt
from accounts.api.common import device_token_of, sign_in_response
from accounts.authentication import BearerAuthentication, CookieOrBearerAuthentication, actor_of
from accounts.serializers import JwksSerializer, UserSerializer
from accounts.serializers_better_auth import CodeInput, MagicLinkSendInput, PasswordOnlyInput, SignInEmailInput
from accounts.services import magic_link, registration, signin, two_factor
from accounts.services.email_links import reset_page_link
from accounts.services.tokens import SignIn
from accounts.session_cookie import session_cookie_from, session_of_cookie, sign_in_cookies_set
from core.api import ERRORS, NO_STORE, PublicView, UserView, parsed, represented
from core.errors import ApiError, ErrorCode
from core.origin import origin_of
from core.redirects import origin_require_trusted, request_origin, trusted_target

PENDING_COOKIE = "mana.two_factor_pending"
PENDING_COOKIE_AGE = 300  # the two-factor step's own lifetime


def _bearer_session_id(request: Request) -> str | None:
    """The session of a valid Bearer sent along (the web app's interceptor), else None."""
    try:
        authenticated = BearerAuthentication().authenticate(request)
    except ApiError:
        return None
    return authenticated[1].session_id if authenticated else None


def _user_body(sign_in: SignIn) -> dict[str, Any]:
    return represented(UserSerializer, sign_in.user)


def _pending_cookie_set(response: HttpResponse, error: ApiError) -> None:
    """A two-factor user: no session yet, a short-lived cookie for the second step."""
    response.set_cookie(PENDING_COOKIE, error.extra["twoFactorToken"], max_age=PENDING_COOKIE_AGE, httponly=True, samesite="Lax")


class BrowserView(PublicView):
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            # A door that sets or uses the cookie: a browser names its origin, and it must be ours.
            origin_require_trusted(request._request, absent_allowed=True)


class SignInEmailView(BrowserView):
    @extend_schema(request=SignInEmailInput, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["better-auth"])
    def post(self, request: Request) -> Response:
        data = parsed(SignInEmailInput, request)
        try:
            sign_in = signin.password_sign_in(
                email=data["email"],
                password=data["password"],
                device_token=device_token_of(request, data),
                origin=origin_of(request),
                resume_session_id=_bearer_session_id(request),
            )
        except ApiError as error:
            if error.code is ErrorCode.TWO_FACTOR_REQUIRED:
                pending = Response({"twoFactorRedirect": True}, headers=NO_STORE)
                _pending_cookie_set(pending, error)
                return pending
            raise
        return sign_in_response(
            sign_in, {"redirect": False, "token": sign_in.tokens.access_token, "url": None, "user": _user_body(sign_in)}
        )


class GetSessionView(PublicView):
    """The SSO probe: the cookie's session and user, or null."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=["better-auth"])
    def get(self, request: Request) -> HttpResponse:
        session = session_of_cookie(session_cookie_from(request._request))
        if session is None:
            return HttpResponse("null", content_type="application/json", headers=NO_STORE)
        user = session.user
        body = {
            "session": {
                "id": session.id,
                "userId": user.id,
                "expiresAt": session.expires_at,
                "createdAt": session.created_at,
                "ipAddress": session.ip_address,
                "userAgent": session.user_agent,
            },
            "user": {
                "id": user.id,
                "email": user.email,
                "name": user.name,
                "image": user.image,
                "emailVerified": user.email_verified,
                "createdAt": user.created_at,
            },
        }
        return JsonResponse(body, headers=NO_STORE)


class JwksView(PublicView):
    @extend_schema(responses={200: JwksSerializer}, tags=["better-auth"])
    def get(self, request: Request) -> Response:
        return Response(jwt.jwks(), headers={"Cache-Control": "public, max-age=300"})


class CookieUserView(UserView):
    authentication_classes = (CookieOrBearerAuthentication,)


class TwoFactorEnableView(CookieUserView):
    """On at once: the platform's setup has no confirmation step (the backup codes are the net)."""

    @extend_schema(request=PasswordOnlyInput, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["better-auth"])
    def post(self, request: Request) -> Response:
        password = parsed(PasswordOnlyInput, request)["password"]
        enrollment = two_factor.two_factor_enable(actor=actor_of(request), password=password, origin=origin_of(request), at_once=True)
        return Response({"totpURI": enrollment.totp_uri, "backupCodes": enrollment.backup_codes}, headers=NO_STORE)


class TwoFactorDisableView(CookieUserView):
    @extend_schema(request=PasswordOnlyInput, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["better-auth"])
    def post(self, request: Request) -> Response:
        two_factor.two_factor_disable(
            actor=actor_of(request), password=parsed(PasswordOnlyInput, request)["password"], origin=origin_of(request)
        )
        return Response({"status": True})


class BackupCodesView(CookieUserView):
    @extend_schema(request=PasswordOnlyInput, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["better-auth"])
    def post(self, request: Request) -> Response:
        password = parsed(PasswordOnlyInput, request)["password"]
        codes = two_factor.backup_codes_regenerate(actor=actor_of(request), password=password, origin=origin_of(request))
        return Response({"status": True, "backupCodes": codes}, headers=NO_STORE)


class _SecondFactorView(BrowserView):
    by_backup_code = False

    @extend_schema(request=CodeInput, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["better-auth"])
    def post(self, request: Request) -> Response:
        code = parsed(CodeInput, request)["code"]
        pending = request.COOKIES.get(PENDING_COOKIE)
        if not pending:
            raise ApiError(ErrorCode.TOKEN_INVALID, "Sign in with your password first.", status=401)
        sign_in = two_factor.two_factor_verify(
            token=pending,
            code=None if self.by_backup_code else code,
            backup_code=code if self.by_backup_code else None,
            device_token=device_token_of(request, {}),
            origin=origin_of(request),
        )
        response = sign_in_response(sign_in, {"token": sign_in.tokens.access_token, "user": _user_body(sign_in)})
        response.delete_cookie(PENDING_COOKIE)
        return response


class VerifyTotpView(_SecondFactorView):
    pass


class VerifyBackupCodeView(_SecondFactorView):
    by_backup_code = True


class MagicLinkSendView(BrowserView):
    """Both paths (the shared client's and Better Auth's); the answer never says whether the
    address is known."""

    @extend_schema(request=MagicLinkSendInput, responses={200: OpenApiTypes.OBJECT, **ERRORS}, tags=["better-auth"])
    def post(self, request: Request) -> Response:
        data = parsed(MagicLinkSendInput, request)
        callback = trusted_target(data.get("callbackURL") or request_origin(request._request))
        magic_link.magic_link_request(email=data["email"], origin=origin_of(request), callback_url=callback)
        return Response({"status": True})


class MagicLinkVerifyView(PublicView):
    """The mailed link: signs the browser in and returns to the callback (an error in the query
    for a bad or used link). A two-factor user finishes on this service's two-factor page."""

    @extend_schema(responses={302: None}, tags=["better-auth"])
    def get(self, request: Request) -> HttpResponse:
        callback = trusted_target(request.query_params.get("callbackURL"))
        try:
            sign_in = magic_link.magic_link_verify(
                token=request.query_params.get("token", ""), device_token=device_token_of(request, {}), origin=origin_of(request)
            )
        except ApiError as error:
            if error.code is ErrorCode.TWO_FACTOR_REQUIRED:
                return _two_factor_pending_redirect(callback, error)
            return HttpResponseRedirect(_with_error(callback, "INVALID_TOKEN"))
        return _signed_in_redirect(sign_in, callback)


def _two_factor_pending_redirect(target: str, error: ApiError) -> HttpResponse:
    response = HttpResponseRedirect(target)
    _pending_cookie_set(response, error)
    return response


def _signed_in_redirect(sign_in: SignIn, target: str) -> HttpResponse:
    response = HttpResponseRedirect(target)
    sign_in_cookies_set(response, sign_in)
    return response


def _with_error(target: str, code: str) -> str:
    return f"{target}{'&' if '?' in target else '?'}{urlencode({'error': code})}"


class VerifyEmailLinkView(PublicView):
    """The verification link of a platform sign-up: verifies, signs the browser in and returns
    to where the sign-up came from."""

    @extend_schema(responses={302: None}, tags=["better-auth"])
    def get(self, request: Request) -> HttpResponse:
        callback = trusted_target(request.query_params.get("callbackURL"))
        try:
            sign_in = registration.email_verify(token=request.query_params.get("token", ""), origin=origin_of(request))
        except ApiError as error:
            if error.code is ErrorCode.TWO_FACTOR_REQUIRED:
                return _two_factor_pending_redirect(callback, error)
            return HttpResponseRedirect(_with_error(callback, "INVALID_TOKEN"))
        return _signed_in_redirect(sign_in, callback)


class ResetPasswordLinkView(PublicView):
    """Better Auth's reset link: on to the caller's reset page with the token (nothing is
    redeemed here; the page posts it to /reset-password)."""

    @extend_schema(responses={302: None}, tags=["better-auth"])
    def get(self, request: Request, token: str) -> HttpResponse:
        return HttpResponseRedirect(reset_page_link(trusted_target(request.query_params.get("callbackURL")), token))
