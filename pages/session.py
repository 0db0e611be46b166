"""What the browser pages share: the signed-in person, safe redirects, error texts, and turning
a sign-in from the services into a browser session."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Session, User
from accounts.services import SignIn
from core.errors import ApiError, ErrorCode

DEFAULT_PAGE = "/account"
SESSION_LINK = "mana_sid"  # the Session row (JWT `sid`) this browser session belongs to
DEVICE_COOKIE = "mana_device"


def allowed_redirect_hosts() -> set[str]:
    hosts = {urlsplit(origin).netloc for origin in [*settings.CORS_ORIGINS, settings.BASE_URL]}
    return {host for host in hosts if host}


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """Only to our own pages or an allowed origin; anything else lands on the default page."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts=allowed_redirect_hosts() | {request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return DEFAULT_PAGE


def page_user(request: HttpRequest) -> User | None:
    """The signed-in person, if their sign-in has not been revoked elsewhere meanwhile."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return None
    session_id = request.session.get(SESSION_LINK)
    if session_id is None or not Session.objects.filter(pk=session_id, user=user, revoked_at__isnull=True).exists():
        django_logout(request)
        return None
    return user


def login_required_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if page_user(request) is None:
            return redirect(f"/login?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapper


def browser_sign_in(request: HttpRequest, sign_in: SignIn) -> None:
    """A Django session for the browser, linked to the sign-in's Session row: revoking that
    row (from another device, a password change, a reset) signs the browser out too."""
    django_login(request, sign_in.user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_LINK] = sign_in.tokens.session.id


def start_browser_session(request: HttpRequest, sign_in: SignIn, next_url: str) -> HttpResponseRedirect:
    browser_sign_in(request, sign_in)
    response = HttpResponseRedirect(next_url)
    remember_device(response, sign_in.device_token)
    return response


def remember_device(response: HttpResponse, device_token: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        device_token,
        max_age=365 * 24 * 3600,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
        domain=settings.COOKIE_DOMAIN,
    )


def error_text(error: ApiError) -> str:
    """A person-readable sentence for an error code, in the page's language."""
    if error.code is ErrorCode.ACCOUNT_LOCKED or error.code is ErrorCode.RATE_LIMITED:
        minutes = max(1, -(-(error.retry_after or 60) // 60))
        wait = ngettext("Try again in %(minutes)d minute.", "Try again in %(minutes)d minutes.", minutes) % {"minutes": minutes}
        lead = (
            _("Too many failed sign-ins: signing in with a password is paused.")
            if error.code is ErrorCode.ACCOUNT_LOCKED
            else _("Too many requests.")
        )
        return f"{lead} {wait}"
    texts = {
        ErrorCode.INVALID_CREDENTIALS: _("Email or password is wrong."),
        ErrorCode.EMAIL_NOT_VERIFIED: _("Please confirm your email address first; we have sent you a link."),
        ErrorCode.EMAIL_ALREADY_REGISTERED: _("This email address is already registered."),
        ErrorCode.WEAK_PASSWORD: _("Please choose a stronger password."),
        ErrorCode.SIGNUP_LIMIT_REACHED: _("Registration is closed for today. Please try again tomorrow."),
        ErrorCode.TOKEN_EXPIRED: _("This link has expired. Please request a new one."),
        ErrorCode.TOKEN_INVALID: _("This link is not valid (any more)."),
        ErrorCode.TWO_FACTOR_FAILED: _("The code is wrong. Please try again."),
        ErrorCode.VALIDATION: _("Please check your input."),
        ErrorCode.FORBIDDEN: _("You are not allowed to do this."),
        ErrorCode.NOT_FOUND: _("Not found."),
        ErrorCode.SERVICE_UNAVAILABLE: _("The service is temporarily unavailable. Please try again shortly."),
    }
    return texts.get(error.code, _("Something went wrong. Please try again."))


def field_errors(error: ApiError) -> dict[str, list[str]]:
    return error.fields or {}
