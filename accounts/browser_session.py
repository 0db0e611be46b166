"""The browser's Django session, linked to the accounts Session row of its sign-in: revoking
that row (from another device, a password change, a reset, an operator) signs the browser out
too. The pages and the operator console both stand on it."""

from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.http import HttpRequest

from accounts.models import Session, User
from accounts.services.tokens import SignIn

SESSION_LINK = "mana_sid"  # the Session row (JWT `sid`) this browser session belongs to


def page_user(request: HttpRequest) -> User | None:
    """The signed-in person, if their sign-in has not been revoked elsewhere meanwhile."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return None
    session_id = request.session.get(SESSION_LINK)
    if session_id is None or not Session.objects.active().filter(pk=session_id, user=user).exists():
        django_logout(request)
        return None
    return user


def browser_session_id(request: HttpRequest) -> str | None:
    """The live Session row the browser's Django session is linked to, else None (a revoked
    link signs the browser out, as on the pages)."""
    return request.session.get(SESSION_LINK) if page_user(request) is not None else None


def browser_sign_in(request: HttpRequest, sign_in: SignIn) -> None:
    """A Django session for the browser, linked to the sign-in's Session row."""
    django_login(request, sign_in.user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_LINK] = sign_in.tokens.session.id
