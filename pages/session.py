"""What the browser pages share: the signed-in person handed to the view, error texts, and
turning a sign-in from the services into a browser session."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.browser_session import browser_sign_in, page_user
from accounts.services.tokens import SignIn
from accounts.session_cookie import sign_in_cookies_set
from core.errors import ApiError, ErrorCode


def login_required_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in pages: the view is called with the signed-in person after the request;
    everyone else is sent to /login and back."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = page_user(request)
        if user is None:
            return redirect(f"/login?{urlencode({'next': request.get_full_path()})}")
        return view(request, user, *args, **kwargs)

    return wrapper


def start_browser_session(request: HttpRequest, sign_in: SignIn, next_url: str) -> HttpResponseRedirect:
    browser_sign_in(request, sign_in)
    response = HttpResponseRedirect(next_url)
    sign_in_cookies_set(response, sign_in)
    return response


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
