"""Facts about the caller that every app needs: client IP (proxy-aware) and user agent."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

USER_AGENT_MAX = 512


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address. X-Forwarded-For is read only as far as TRUSTED_PROXY_COUNT proxies
    vouch for it: with N proxies, the N-th entry from the right is the one the outermost trusted
    proxy saw; anything left of it may be forged by the client."""
    candidate = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= trusted:
            candidate = hops[-trusted]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def user_agent(request: HttpRequest) -> str:
    return request.headers.get("User-Agent", "")[:USER_AGENT_MAX]
