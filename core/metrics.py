"""Prometheus metrics (PLATFORM.md §11): requests counted and timed by route pattern, served at
/metrics to the scrape networks only.

Under gunicorn each worker keeps its own samples; with PROMETHEUS_MULTIPROC_DIR set, prometheus-client
writes them to files there and a scrape, whichever worker it reaches, reads them all."""

import ipaddress
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, resolve
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from core.api import ApiNotFoundView
from core.origin import client_ip

REQUESTS = Counter("http_requests", "HTTP requests answered.", ["method", "route", "status"])
DURATION = Histogram("http_request_duration_seconds", "Time to answer an HTTP request.", ["method", "route"])

UNMATCHED = "unmatched"
API_PREFIX = "/api/v1"
# Any other method a client sends shares one label value, so callers cannot grow the series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_label(match: ResolverMatch | None) -> str:
    """The URL pattern, never the path (no ids in labels). core.urls.route() mounts every pattern
    with and without a trailing slash; both count as one route."""
    if match is None or getattr(match.func, "view_class", None) is ApiNotFoundView:
        return UNMATCHED
    label = "/" + match.route.rstrip("/")
    if label == API_PREFIX or label.startswith(f"{API_PREFIX}/"):
        return label.removeprefix(API_PREFIX) or "/"
    return label


def _resolved(request: HttpRequest) -> ResolverMatch | None:
    # A middleware that answers on its own (a CORS preflight, a redirect) leaves no match behind.
    if request.resolver_match is not None:
        return request.resolver_match
    try:
        return resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None


class MetricsMiddleware:
    """First in MIDDLEWARE: it times and counts every answer, error envelopes and 404s included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        method = request.method if request.method in METHODS else "other"
        route = route_label(_resolved(request))
        REQUESTS.labels(method=method, route=route, status=str(response.status_code)).inc()
        DURATION.labels(method=method, route=route).observe(elapsed)
        return response


def _scrape_registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # the library leaves it unannotated
    return registry


def _allowed(address: str | None) -> bool:
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    # A dual-stack listener reports IPv4 callers as ::ffff:a.b.c.d.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in settings.METRICS_ALLOWED_NETWORKS)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """No token (Prometheus sends none): the caller's network is the gate."""
    if not _allowed(client_ip(request)):
        raise PermissionDenied
    return HttpResponse(generate_latest(_scrape_registry()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
