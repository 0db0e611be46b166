"""The operator console's gate. Operators sign in through /login like everyone (same lockout,
throttles and second factor); the admin only decides whether that sign-in is enough."""

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.browser_session import SESSION_LINK, page_user
from accounts.models import STRONG_SIGN_IN_METHODS, Session
from core.redirects import safe_next


def strong_sign_in(request: HttpRequest) -> bool:
    session_id = request.session.get(SESSION_LINK)
    return Session.objects.filter(pk=session_id, method__in=STRONG_SIGN_IN_METHODS).exists()


class ManaAdminSite(AdminSite):
    site_header = "Mana operator console"
    site_title = "Mana operators"
    index_title = "Operations"

    def has_permission(self, request: HttpRequest) -> bool:
        # A Django session only: a Bearer token alone never reaches the admin.
        user = page_user(request)
        if user is None or not user.is_active or not user.is_staff:
            return False
        return not settings.ADMIN_REQUIRE_2FA or strong_sign_in(request)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        next_url = safe_next(request, request.GET.get("next")) if request.GET.get("next") else "/admin/"
        if self.has_permission(request):
            return redirect(next_url)
        if page_user(request) is not None:
            # Signed in, but not as an operator (or without a second factor): no redirect loop.
            text = _("The operator console needs a staff account signed in with a passkey or two-factor sign-in.")
            return render(request, "pages/message.html", {"title": _("Not allowed"), "text": text, "link": "/account"}, status=403)
        return redirect(f"/login?{urlencode({'next': next_url})}")
