"""The platform's session cookie (PLATFORM.md §9): an opaque handle of one accounts Session, so
the session list, logout, reset and revocation end it like any other sign-in. Stored hashed."""

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.device_cookie import device_cookie_set
from accounts.models import Session
from accounts.services.tokens import SignIn
from core.secrets import new_token, token_hash

COOKIE_NAME = "mana.session_token"
COOKIE_AGE = timedelta(days=7)


def cookie_name() -> str:
    return f"__Secure-{COOKIE_NAME}" if settings.BASE_URL.startswith("https://") else COOKIE_NAME


def session_cookie_bind(session: Session) -> str:
    """A new cookie value for `session` (an older cookie of it stops working)."""
    raw = new_token()
    Session.objects.filter(pk=session.pk).update(cookie_hash=token_hash(raw))
    return raw


def session_of_cookie(raw: str | None) -> Session | None:
    """The live session the cookie belongs to: not revoked, not expired, its user active."""
    if not raw:
        return None
    session = Session.objects.active().select_related("user").filter(cookie_hash=token_hash(raw)).first()
    if session is None or session.expires_at <= timezone.now() or not session.user.is_active:
        return None
    return session


def session_cookie_from(request: HttpRequest) -> str | None:
    return request.COOKIES.get(cookie_name())


def session_cookie_set(response: HttpResponse, raw: str) -> None:
    cross_site = bool(settings.COOKIE_DOMAIN)
    response.set_cookie(
        cookie_name(),
        raw,
        max_age=int(COOKIE_AGE.total_seconds()),
        path="/",
        domain=settings.COOKIE_DOMAIN,
        httponly=True,
        # Browsers drop SameSite=None without Secure; a shared domain means the apps are cross-site.
        secure=cross_site or settings.BASE_URL.startswith("https://"),
        samesite="None" if cross_site else "Lax",
    )


def session_cookie_clear(response: HttpResponse) -> None:
    response.delete_cookie(cookie_name(), path="/", domain=settings.COOKIE_DOMAIN)


def sign_in_cookies_set(response: HttpResponse, sign_in: SignIn) -> None:
    """What every sign-in leaves in the browser, whichever door it came through: the device
    cookie, and the session cookie bound to the sign-in's session (one store, so SSO works from
    any of them)."""
    device_cookie_set(response, sign_in.device_token)
    session_cookie_set(response, sign_in.session_cookie)
