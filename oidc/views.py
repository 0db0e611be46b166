"""The provider's HTTP edges: django-oauth-toolkit's views with the project's sign-in, consent,
errors and sign-out. The protocol itself (parameters, PKCE, client authentication, tokens) stays
the library's and oauthlib's; the rules live in oidc.validator and oidc.services."""

import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import logout as django_logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views import View
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.models import AbstractApplication
from oauth2_provider.views import AuthorizationView, RPInitiatedLogoutView
from oauthlib.oauth2.rfc6749.errors import InvalidRedirectURIError

from accounts.browser_session import SESSION_LINK, page_user
from accounts.models import User
from accounts.selectors import session_started_at
from accounts.services import sessions
from core.origin import origin_of
from oidc.models import Application
from oidc.scopes import SCOPE_TEXTS, scope_texts
from oidc.selectors import authorization_callback
from oidc.services import authorization_refusal, client_tokens_revoke, consent_covers, consent_record, event_record

SCOPES_SUPPORTED = list(SCOPE_TEXTS)
CLAIMS_SUPPORTED = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email", "email_verified", "name"]


def form_action_csp(uri: str) -> dict[str, list[str]]:
    """The strict CSP, with forms allowed to lead to `uri`'s origin: browsers hold the redirect
    that follows a form submission to form-action too."""
    parts = urlsplit(uri)
    return {**settings.SECURE_CSP, "form-action": [*settings.SECURE_CSP["form-action"], f"{parts.scheme}://{parts.netloc}"]}


def _with_redirect_form_action(response: HttpResponse, uri: str | None) -> HttpResponse:
    if uri:
        response._csp_config = form_action_csp(uri)  # type: ignore[attr-defined] # read by Django's CSP middleware
    return response


def sign_in_form_action(response: HttpResponse, next_url: str | None) -> HttpResponse:
    """For the sign-in pages (/login, /two-factor): a sign-in on its way to a client whose consent is
    already given ends at the client's callback, so their form may lead there."""
    callback = authorization_callback(next_url) if next_url else None
    return _with_redirect_form_action(response, callback)


def _error_redirect(uri: str, error: str, state: str | None) -> str:
    params = {"error": error, **({"state": state} if state else {})}
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"


class AuthorizeView(AuthorizationView):
    """The authorization endpoint. The browser signs in on our own /login (lockout, 2FA, passkeys)
    and comes back; the consent page is asked once per client and scope set; an invalid client or
    redirect URI is an error page, never a redirect."""

    template_name = "oidc/consent.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        page_user(request)  # a browser whose sign-in was revoked elsewhere counts as signed out
        return super().dispatch(request, *args, **kwargs)

    def get_login_url(self) -> str:
        return str(settings.LOGIN_URL)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        application = Application.objects.get(client_id=credentials["client_id"])
        user: User = request.user  # type: ignore[assignment] # LoginRequiredMixin let only a signed-in person in
        redirect_uri, state = credentials["redirect_uri"], credentials.get("state")
        refusal = authorization_refusal(user)
        if refusal is not None:
            event_record(
                "AUTHORIZATION_REFUSED", user_id=user.id, origin=origin_of(request), client_id=application.client_id, reason=refusal
            )
            return self.redirect(_error_redirect(redirect_uri, "access_denied", state), application)
        prompt = set(request.GET.get("prompt", "").split())
        if "consent" not in prompt and consent_covers(user_id=user.id, application=application, scopes=scopes):
            try:
                uri, *_ = self.create_authorization_response(request, " ".join(scopes), credentials, allow=True)
            except OAuthToolkitError as error:
                return self.error_response(error, application)
            return self.redirect(uri, application)
        if "none" in prompt:
            return self.redirect(_error_redirect(redirect_uri, "consent_required", state), application)
        self.oauth2_data = {**credentials, "scopes": scopes}
        if "claims" in credentials:
            self.oauth2_data["claims"] = json.dumps(credentials["claims"])
        context = self.get_context_data(
            form=self.get_form(self.get_form_class()), application=application, scopes=scopes, scope_texts=scope_texts(scopes)
        )
        return _with_redirect_form_action(self.render_to_response(context), redirect_uri)

    def form_valid(self, form: Any) -> HttpResponse:
        """The consent form came back. Its hidden fields are the person's own to change, so the
        client and redirect URI are checked again before anything, a refusal included, is sent
        there (the library would send a refusal to whatever URI the form names)."""
        user: User = self.request.user
        application = Application.objects.filter(client_id=form.cleaned_data["client_id"]).first()
        if application is None or not application.redirect_uri_allowed(form.cleaned_data["redirect_uri"]):
            return self.error_response(FatalClientError(error=InvalidRedirectURIError()), None)
        response = super().form_valid(form)
        who = {"user_id": user.id, "origin": origin_of(self.request), "client_id": application.client_id}
        if self.success_url is not None:
            consent_record(user_id=user.id, application=application, scopes=form.cleaned_data["scope"].split(), origin=who["origin"])
        elif not form.cleaned_data.get("allow"):
            event_record("CONSENT_DENIED", **who)
        return response

    def create_authorization_response(self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool) -> Any:
        # The sign-in time of this browser session becomes the ID token's auth_time.
        signed_in = session_started_at(request.session.get(SESSION_LINK))
        return super().create_authorization_response(request, scopes, {**credentials, "auth_time": signed_in}, allow)

    def error_response(self, error: Any, application: Any, **kwargs: Any) -> HttpResponse:
        oauthlib_error = error.oauthlib_error
        fatal = isinstance(error, FatalClientError)  # unknown client, unregistered redirect URI
        event_record(
            "AUTHORIZATION_INVALID" if fatal else "AUTHORIZATION_ERROR",
            user_id=getattr(self.request.user, "id", None),
            origin=origin_of(self.request),
            client_id=self.request.GET.get("client_id") or self.request.POST.get("client_id"),
            error=oauthlib_error.error,
        )
        if not fatal:
            return super().error_response(error, application, **kwargs)  # back to the registered redirect URI
        response = self.render_to_response({"error": oauthlib_error}, status=oauthlib_error.status_code)
        response.template_name = "oidc/error.html"  # shown, never followed
        return response


class EndSessionView(RPInitiatedLogoutView):
    """RP-initiated sign-out: with a valid `id_token_hint` of the signed-in person and a
    registered post-logout redirect, the browser's sign-in ends (revoked like /logout), the
    client's tokens for that person are revoked, and the browser goes back to the client."""

    template_name = "oidc/logout_confirm.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        page_user(request)
        response = super().get(request, *args, **kwargs)
        return _with_redirect_form_action(response, request.GET.get("post_logout_redirect_uri"))

    def do_logout(
        self, application: Any = None, post_logout_redirect_uri: str | None = None, state: str | None = None, token_user: Any = None
    ) -> HttpResponse:
        request = self.request
        browser_user = page_user(request)
        session_id = request.session.get(SESSION_LINK)
        if browser_user is not None and session_id:
            sessions.session_revoke(actor=browser_user, session_id=session_id, origin=origin_of(request), event="LOGOUT")
        user = token_user or browser_user
        if isinstance(user, User):
            if isinstance(application, Application):
                client_tokens_revoke(user_id=user.id, application=application)
            event_record("LOGOUT", user_id=user.id, origin=origin_of(request), client_id=getattr(application, "client_id", None))
        django_logout(request)
        return super().do_logout(application, post_logout_redirect_uri, state, token_user)

    def error_response(self, error: Any) -> HttpResponse:
        event_record("LOGOUT_REFUSED", user_id=None, origin=origin_of(self.request), error=getattr(error, "error", "invalid_request"))
        return self.render_to_response({"error": error}, status=error.status_code)


class DiscoveryView(View):
    """OpenID Provider metadata (OpenID Connect Discovery 1.0): what this provider does, exactly."""

    def get(self, request: HttpRequest) -> JsonResponse:
        base = str(settings.BASE_URL)
        data = {
            "issuer": settings.JWT_ISSUER,
            "authorization_endpoint": base + reverse("oidc:authorize"),
            "token_endpoint": base + reverse("oidc:token"),
            "userinfo_endpoint": base + reverse("oidc:userinfo"),
            "jwks_uri": f"{base}/.well-known/jwks.json",  # the platform's one JWKS, EdDSA keys first
            "end_session_endpoint": base + reverse("oidc:end-session"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [AbstractApplication.RS256_ALGORITHM],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": SCOPES_SUPPORTED,
            "claims_supported": CLAIMS_SUPPORTED,
            "prompt_values_supported": ["none", "consent"],
            "authorization_response_iss_parameter_supported": True,
        }
        response = JsonResponse(data)
        response["Access-Control-Allow-Origin"] = "*"
        response["Cache-Control"] = "public, max-age=300"
        return response
