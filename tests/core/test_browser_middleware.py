"""API requests skip the browser middleware (sessions, the authenticated user, messages); pages,
the console and the one API route that reads the browser's sign-in session keep it."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from core.middleware_browser import AuthenticationMiddleware, MessageMiddleware, SessionMiddleware

API = ["/health", "/health/ready", "/metrics", "/api/v1/auth/validate", "/api/auth/get-session", "/.well-known/jwks.json"]
BROWSER = ["/login", "/account", "/admin/", "/api/docs/", "/api/schema/", "/api/v1/auth/session-to-token"]


def _seen(path: str) -> HttpRequest:
    """The request as the view receives it after the three browser middlewares."""
    seen: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return HttpResponse()

    chain = SessionMiddleware(AuthenticationMiddleware(MessageMiddleware(view)))
    chain(RequestFactory().get(path))
    return seen[0]


@pytest.mark.parametrize("path", API)
def test_api_requests_get_no_session_user_or_messages(path: str) -> None:
    request = _seen(path)
    assert not hasattr(request, "session")
    assert not hasattr(request, "user")
    assert not hasattr(request, "_messages")


@pytest.mark.parametrize("path", BROWSER)
@pytest.mark.django_db
def test_pages_and_the_sso_hand_off_keep_them(path: str) -> None:
    request = _seen(path)
    assert hasattr(request, "session")
    assert hasattr(request, "user")
    assert hasattr(request, "_messages")
