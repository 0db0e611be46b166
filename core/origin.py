"""Who is calling, as the HTTP edge saw it. Built once per request (RequestIdMiddleware) and
handed to services as a value, so no service needs the request itself."""

import ipaddress
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Origin:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @property
    def ip_key(self) -> str:
        """The address as a rate-limit identity: callers without one share a bucket."""
        return self.ip or "unknown"

    @classmethod
    def of(cls, request: HttpRequest) -> "Origin":
        return cls(ip=client_ip(request), user_agent=user_agent(request), request_id=getattr(request, "request_id", ""))


# Work not started by a request (management commands, the outbox): nobody's address.
NO_ORIGIN = Origin()


def origin_of(request: Any) -> Origin:
    """The request's Origin (a Django request or DRF's wrapper of one)."""
    raw: HttpRequest = getattr(request, "_request", request)
    origin = getattr(raw, "origin", None)
    if isinstance(origin, Origin):
        return origin
    origin = Origin.of(raw)
    raw.origin = origin  # type: ignore[attr-defined]
    return origin
