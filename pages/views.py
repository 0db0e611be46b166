"""Browser pages: thin HTML edges over the same services the API uses."""

from collections.abc import Callable
from typing import Any

import segno
from django.contrib.auth import logout as django_logout
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.browser_session import SESSION_LINK, browser_sign_in, page_user
from accounts.device_cookie import device_token_from
from accounts.models import User
from accounts.selectors import sessions_active
from accounts.services import magic_link, passwords, profile, registration, sessions, signin, two_factor
from accounts.session_cookie import sign_in_cookies_set
from core.errors import ApiError, ErrorCode, classify, error_response
from core.origin import origin_of
from core.parsers import loads as strict_json
from core.redirects import safe_next
from core.text import EMAIL_MAX_LENGTH, validate_visible
from oidc import selectors as oidc_selectors
from oidc import services as oidc_services
from oidc.views import sign_in_form_action
from pages.session import error_text, field_errors, login_required_page, start_browser_session
from passkeys import selectors as passkey_selectors
from passkeys import services as passkey_services
from spaces import services as space_services
from vault import services as vault_services

TWO_FACTOR_PENDING = "two_factor_token"
NEXT_PENDING = "two_factor_next"


def _page(request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    return render(request, f"pages/{template}", context or {}, status=status)


def _failure(request: HttpRequest, template: str, error: ApiError, context: dict[str, Any] | None = None) -> HttpResponse:
    # A form shown again with its error is a normal page (200), as Django's form views do; the
    # status codes of the error belong to the API.
    return _page(request, template, {"error": error_text(error), "fields": field_errors(error), **(context or {})})


def _form_email(request: HttpRequest, name: str = "email", *, new: bool = False) -> str:
    """The form's address, checked as the API's serializers check theirs: no account has one
    longer than an address may be, and a new one must be a visible, well-formed address."""
    value = request.POST.get(name, "")
    try:
        if len(value) > EMAIL_MAX_LENGTH:
            raise ValidationError(_("The address is too long."))
        if new:
            validate_email(value)
            validate_visible(value)
    except ValidationError as exc:
        raise ApiError(ErrorCode.VALIDATION, fields={name: exc.messages}) from exc
    return value


def _second_factor_pending(request: HttpRequest, error: ApiError, next_url: str) -> None:
    request.session[TWO_FACTOR_PENDING] = error.extra["twoFactorToken"]
    request.session[NEXT_PENDING] = next_url


def _handoff_to_second_factor(request: HttpRequest, error: ApiError, next_url: str) -> HttpResponse:
    _second_factor_pending(request, error, next_url)
    return redirect("/two-factor")


# --- sign in and out ---------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if page_user(request) is not None:
        return redirect(next_url)
    context = {"next": next_url, "passkeys_enabled": passkey_services.passkeys_enabled(), "email": request.POST.get("email", "")}
    if request.method == "GET":
        return sign_in_form_action(_page(request, "login.html", context), next_url)
    try:
        sign_in = signin.password_sign_in(
            email=_form_email(request),
            password=request.POST.get("password", ""),
            device_token=device_token_from(request),
            origin=origin_of(request),
        )
    except ApiError as error:
        if error.code is ErrorCode.TWO_FACTOR_REQUIRED:
            return _handoff_to_second_factor(request, error, next_url)
        return sign_in_form_action(_failure(request, "login.html", error, context), next_url)
    return start_browser_session(request, sign_in, next_url)


@require_POST
def passkey_login(request: HttpRequest) -> HttpResponse:
    """The passkey ceremony's last step for the browser: JSON in, a browser session out."""
    try:
        body = strict_json(request.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return error_response(ApiError(ErrorCode.VALIDATION))
    next_url = safe_next(request, body.get("next"))
    try:
        sign_in = passkey_services.passkey_sign_in(response=body.get("response"), origin=origin_of(request))
    except ApiError as error:
        if error.code is ErrorCode.TWO_FACTOR_REQUIRED:
            # A passkey without user verification is one factor: the second follows on its page.
            _second_factor_pending(request, error, next_url)
            return JsonResponse({"redirect": "/two-factor"})
        return error_response(classify(error))
    browser_sign_in(request, sign_in)
    response = JsonResponse({"redirect": next_url})
    sign_in_cookies_set(response, sign_in)
    return response


@require_POST
def passkey_login_options(request: HttpRequest) -> HttpResponse:
    try:
        return JsonResponse(passkey_services.authentication_options(email=None, origin=origin_of(request)))
    except ApiError as error:
        return error_response(error)


@require_http_methods(["GET", "POST"])
def two_factor_page(request: HttpRequest) -> HttpResponse:
    token = request.session.get(TWO_FACTOR_PENDING)
    if not token:
        return redirect("/login")
    if request.method == "GET":
        return sign_in_form_action(_page(request, "two_factor.html"), request.session.get(NEXT_PENDING))
    code = request.POST.get("code", "").strip()
    backup = request.POST.get("backup_code", "").strip()
    try:
        sign_in = two_factor.two_factor_verify(
            token=token,
            code=code or None,
            backup_code=None if code else (backup or None),
            device_token=device_token_from(request),
            origin=origin_of(request),
        )
    except ApiError as error:
        if error.code in (ErrorCode.TOKEN_EXPIRED, ErrorCode.TOKEN_INVALID):
            request.session.pop(TWO_FACTOR_PENDING, None)
        return sign_in_form_action(_failure(request, "two_factor.html", error), request.session.get(NEXT_PENDING))
    next_url = request.session.pop(NEXT_PENDING, "/account")
    request.session.pop(TWO_FACTOR_PENDING, None)
    return start_browser_session(request, sign_in, safe_next(request, next_url))


@require_POST
def logout_page(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    session_id = request.session.get(SESSION_LINK)
    if user is not None and session_id:
        sessions.session_revoke(actor=user, session_id=session_id, origin=origin_of(request), event="LOGOUT")
    django_logout(request)
    return redirect("/login")


# --- registration and mailed links ---------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def register_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, "register.html")
    context = {"email": request.POST.get("email", ""), "name": request.POST.get("name", "")}
    try:
        registration.user_register(
            email=_form_email(request, new=True),
            password=request.POST.get("password", ""),
            name=request.POST.get("name", "")[:200],
            language=translation.get_language() or "de",
            origin=origin_of(request),
        )
    except ApiError as error:
        return _failure(request, "register.html", error, context)
    return _page(
        request, "message.html", {"title": _("Check your inbox"), "text": _("We have sent you a link to confirm your email address.")}
    )


def _token_page(request: HttpRequest, template: str, action: Any, **context: Any) -> HttpResponse:
    """Mailed links open a page with a button: mail scanners that prefetch links change nothing."""
    token = request.POST.get("token") or request.GET.get("token", "")
    if request.method == "GET":
        return _page(request, template, {"token": token, **context})
    try:
        return action(token)
    except ApiError as error:
        return _failure(request, template, error, {"token": token, **context})


@require_http_methods(["GET", "POST"])
def verify_email_page(request: HttpRequest) -> HttpResponse:
    def verify(token: str) -> HttpResponse:
        try:
            sign_in = registration.email_verify(token=token, origin=origin_of(request))
        except ApiError as error:
            if error.code is ErrorCode.TWO_FACTOR_REQUIRED:
                return _handoff_to_second_factor(request, error, "/account")
            raise
        return start_browser_session(request, sign_in, "/account")

    return _token_page(request, "verify_email.html", verify)


@require_http_methods(["GET", "POST"])
def magic_link_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and "email" in request.POST:
        try:
            magic_link.magic_link_request(email=_form_email(request), origin=origin_of(request))
        except ApiError as error:
            return _failure(request, "magic_link.html", error)
        return _page(
            request,
            "message.html",
            {"title": _("Check your inbox"), "text": _("If the address is registered, a sign-in link is on its way.")},
        )

    def sign_in(token: str) -> HttpResponse:
        try:
            result = magic_link.magic_link_verify(token=token, device_token=device_token_from(request), origin=origin_of(request))
        except ApiError as error:
            if error.code is ErrorCode.TWO_FACTOR_REQUIRED:
                return _handoff_to_second_factor(request, error, "/account")
            raise
        return start_browser_session(request, result, "/account")

    return _token_page(request, "magic_link.html", sign_in)


@require_http_methods(["GET", "POST"])
def forgot_password_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, "forgot_password.html")
    try:
        passwords.password_reset_request(email=_form_email(request), origin=origin_of(request))
    except ApiError as error:
        return _failure(request, "forgot_password.html", error)
    return _page(
        request,
        "message.html",
        {"title": _("Check your inbox"), "text": _("If the address is registered, a link to reset the password is on its way.")},
    )


@require_http_methods(["GET", "POST"])
def reset_password_page(request: HttpRequest) -> HttpResponse:
    def reset(token: str) -> HttpResponse:
        passwords.password_reset_complete(token=token, new_password=request.POST.get("password", ""), origin=origin_of(request))
        return _page(
            request,
            "message.html",
            {"title": _("Password changed"), "text": _("Your new password is set. Please sign in."), "link": "/login"},
        )

    return _token_page(request, "reset_password.html", reset)


@require_http_methods(["GET", "POST"])
def confirm_email_change_page(request: HttpRequest) -> HttpResponse:
    def confirm(token: str) -> HttpResponse:
        profile.email_change_confirm(token=token, origin=origin_of(request))
        return _page(
            request, "message.html", {"title": _("Email address changed"), "text": _("Your new address is confirmed."), "link": "/account"}
        )

    return _token_page(request, "confirm_email_change.html", confirm)


@login_required_page
@require_http_methods(["GET", "POST"])
def accept_invitation_page(request: HttpRequest, user: User) -> HttpResponse:
    def accept(token: str) -> HttpResponse:
        space_services.invitation_accept(actor=user, token=token, origin=origin_of(request))
        return redirect("/account")

    token = request.POST.get("token") or request.GET.get("id", "")
    if request.method == "GET":
        return _page(request, "accept_invitation.html", {"token": token})
    try:
        return accept(token)
    except ApiError as error:
        return _failure(request, "accept_invitation.html", error, {"token": token})


# --- the account page ------------------------------------------------------------------------------
def _account_context(request: HttpRequest, user: User) -> dict[str, Any]:
    return {
        "account": user,
        "passkeys": list(passkey_selectors.passkeys_of(actor=user)) if passkey_services.passkeys_enabled() else None,
        "sessions": list(sessions_active(actor=user)),
        "current_session": request.session.get(SESSION_LINK),
        "vault": vault_services.vault_status(actor=user),
        "consents": list(oidc_selectors.consents_of(actor=user)),
    }


@login_required_page
def account_page(request: HttpRequest, user: User) -> HttpResponse:
    return _page(request, "account.html", _account_context(request, user) | {"notice": request.session.pop("notice", None)})


def _account_action(request: HttpRequest, user: User, action: Callable[[], object], notice: str) -> HttpResponse:
    try:
        result = action()
    except ApiError as error:
        return _page(request, "account.html", _account_context(request, user) | {"error": error_text(error), "fields": field_errors(error)})
    if isinstance(result, HttpResponse):
        return result
    request.session["notice"] = notice
    return redirect("/account")


@login_required_page
@require_POST
def account_profile(request: HttpRequest, user: User) -> HttpResponse:
    name = request.POST.get("name", "")[:200]
    return _account_action(
        request, user, lambda: profile.profile_update(actor=user, origin=origin_of(request), name=name), _("Profile saved.")
    )


@login_required_page
@require_POST
def account_email(request: HttpRequest, user: User) -> HttpResponse:
    return _account_action(
        request,
        user,
        lambda: profile.email_change_request(
            actor=user,
            new_email=_form_email(request, "new_email", new=True),
            password=request.POST.get("password", ""),
            origin=origin_of(request),
        ),
        _("We have sent a confirmation link to the new address."),
    )


@login_required_page
@require_POST
def account_password(request: HttpRequest, user: User) -> HttpResponse:
    return _account_action(
        request,
        user,
        lambda: passwords.password_change(
            actor=user,
            current_password=request.POST.get("current_password", ""),
            new_password=request.POST.get("new_password", ""),
            session_id=request.session.get(SESSION_LINK),
            origin=origin_of(request),
        ),
        _("Password changed. Your other sessions were signed out."),
    )


@login_required_page
@require_POST
def account_sessions_revoke_others(request: HttpRequest, user: User) -> HttpResponse:
    return _account_action(
        request,
        user,
        lambda: sessions.sessions_revoke_others(actor=user, keep=request.session.get(SESSION_LINK), origin=origin_of(request)),
        _("Your other sessions were signed out."),
    )


@login_required_page
@require_POST
def account_two_factor_enable(request: HttpRequest, user: User) -> HttpResponse:
    def enable() -> HttpResponse:
        enrollment = two_factor.two_factor_enable(actor=user, password=request.POST.get("password", ""), origin=origin_of(request))
        qr = segno.make(enrollment.totp_uri, error="m").svg_inline(scale=4, omitsize=False, svgclass="qr-code", lineclass=None)
        return _page(request, "two_factor_enroll.html", {"enrollment": enrollment, "qr_svg": qr})

    return _account_action(request, user, enable, "")


@login_required_page
@require_POST
def account_two_factor_confirm(request: HttpRequest, user: User) -> HttpResponse:
    return _account_action(
        request,
        user,
        lambda: two_factor.two_factor_confirm(actor=user, code=request.POST.get("code", "").strip(), origin=origin_of(request)),
        _("Two-factor sign-in is on."),
    )


@login_required_page
@require_POST
def account_two_factor_disable(request: HttpRequest, user: User) -> HttpResponse:
    return _account_action(
        request,
        user,
        lambda: two_factor.two_factor_disable(actor=user, password=request.POST.get("password", ""), origin=origin_of(request)),
        _("Two-factor sign-in is off."),
    )


@login_required_page
@require_POST
def account_backup_codes(request: HttpRequest, user: User) -> HttpResponse:
    def regenerate() -> HttpResponse:
        codes = two_factor.backup_codes_regenerate(actor=user, password=request.POST.get("password", ""), origin=origin_of(request))
        return _page(request, "backup_codes.html", {"codes": codes})

    return _account_action(request, user, regenerate, "")


@login_required_page
@require_POST
def account_passkey_options(request: HttpRequest, user: User) -> HttpResponse:
    try:
        return JsonResponse(passkey_services.registration_options(actor=user))
    except ApiError as error:
        return error_response(error)


@login_required_page
@require_POST
def account_passkey_verify(request: HttpRequest, user: User) -> HttpResponse:
    try:
        body = strict_json(request.body)
        name = str(body.get("name") or "")[:64] or None
        passkey = passkey_services.passkey_register(
            actor=user, response=body.get("response"), name=name, origin=origin_of(request), session_id=request.session.get(SESSION_LINK)
        )
    except (ApiError, ValueError) as exc:
        return error_response(exc if isinstance(exc, ApiError) else ApiError(ErrorCode.VALIDATION))
    return JsonResponse({"id": passkey.id}, status=201)


@login_required_page
@require_POST
def account_passkey_rename(request: HttpRequest, user: User, passkey_id: str) -> HttpResponse:
    name = request.POST.get("name", "").strip()[:64]

    def rename() -> None:
        if not name:
            raise ApiError(ErrorCode.VALIDATION, fields={"name": [_("Please enter a name.")]})
        passkey_services.passkey_rename(actor=user, passkey_id=passkey_id, name=name, origin=origin_of(request))

    return _account_action(request, user, rename, _("Passkey renamed."))


@login_required_page
@require_POST
def account_passkey_delete(request: HttpRequest, user: User, passkey_id: str) -> HttpResponse:
    return _account_action(
        request,
        user,
        lambda: passkey_services.passkey_delete(actor=user, passkey_id=passkey_id, origin=origin_of(request)),
        _("Passkey removed."),
    )


@login_required_page
@require_POST
def account_consent_revoke(request: HttpRequest, user: User, consent_id: str) -> HttpResponse:
    return _account_action(
        request,
        user,
        lambda: oidc_services.consent_revoke(actor=user, consent_id=consent_id, origin=origin_of(request)),
        _("The app's access was revoked."),
    )
