"""The device cookie: proof that this browser has signed in before, which keeps the lockout from
locking it out. Set by the API and the pages alike."""

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DEVICE_COOKIE = "mana_device"
DEVICE_COOKIE_AGE = timedelta(days=365)


def device_cookie_set(response: HttpResponse, device_token: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        device_token,
        max_age=int(DEVICE_COOKIE_AGE.total_seconds()),
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
        domain=settings.COOKIE_DOMAIN,
    )


def device_token_from(request: HttpRequest) -> str | None:
    return request.COOKIES.get(DEVICE_COOKIE)
