"""Django's browser middleware (sessions, the authenticated user, messages) for pages, the console
and the documentation only. The API, health and metrics paths need none of
it: their callers authenticate with a Bearer token, a service key or the service's own session
cookie, each checked by the view; skipping it saves every API request its share of the work."""

import re
from collections.abc import Awaitable

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

# Paths that are API (JSON for programs); the one exception reads the browser's sign-in session.
_API_PATH = re.compile(r"^/(api/v1/|api/auth/|health(/|$)|metrics$|\.well-known/jwks\.json$)")
_BROWSER_API_PATHS = frozenset({"/api/v1/auth/session-to-token"})


def is_api_request(request: HttpRequest) -> bool:
    """Decided once per request, however many of the middlewares below ask."""
    decided: bool | None = getattr(request, "_is_api", None)
    if decided is None:
        decided = _API_PATH.match(request.path_info) is not None and request.path_info not in _BROWSER_API_PATHS
        request._is_api = decided  # type: ignore[attr-defined]
    return decided


class _BrowserOnly(MiddlewareMixin):
    """Mixed in before a Django middleware: API requests go straight past it."""

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if is_api_request(request):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_BrowserOnly, DjangoSessionMiddleware):
    pass


class AuthenticationMiddleware(_BrowserOnly, DjangoAuthenticationMiddleware):
    pass


class MessageMiddleware(_BrowserOnly, DjangoMessageMiddleware):
    pass
