"""/metrics (PLATFORM.md §11): counts and durations by route pattern, for the scrape networks only.
The counters are process-global, so the tests compare a scrape after with one before."""

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.support import PASSWORD, REPO

pytestmark = pytest.mark.django_db

SCRAPER = "10.1.2.3"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(body: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def scrape(client: Client | None = None) -> Samples:
    response = (client or Client(REMOTE_ADDR=SCRAPER)).get("/metrics")
    assert response.status_code == 200
    return parse(response.content.decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def counted(before: Samples, after: Samples, **labels: str) -> float:
    return value(after, "http_requests_total", **labels) - value(before, "http_requests_total", **labels)


def post(client: Client, path: str, body: dict[str, str]) -> int:
    return client.post(path, body, content_type="application/json").status_code


def test_counts_requests_by_route_pattern_and_status(make_user) -> None:
    make_user("alice@example.com")
    client = Client(REMOTE_ADDR="198.51.100.7")
    before = scrape()

    assert post(client, "/api/v1/auth/login", {"email": "alice@example.com", "password": "wrong"}) == 401
    assert post(client, "/api/v1/auth/login/", {"email": "alice@example.com", "password": PASSWORD}) == 200
    assert post(client, "/api/v1/auth/register", {"email": "nora@example.com", "password": PASSWORD}) == 201
    assert client.get("/health").status_code == 200
    assert client.get("/health/").status_code == 200

    after = scrape()
    assert counted(before, after, method="POST", route="/auth/login", status="401") == 1
    # The trailing-slash twin of a route is the same route.
    assert counted(before, after, method="POST", route="/auth/login", status="200") == 1
    assert counted(before, after, method="POST", route="/auth/register", status="201") == 1
    assert counted(before, after, method="GET", route="/health", status="200") == 2
    routes = {dict(labels)["route"] for name, labels in after if name == "http_requests_total"}
    assert not any(route.endswith("/") and route != "/" for route in routes)
    assert not any(route.startswith("/api/v1") for route in routes)


def test_routes_with_ids_keep_the_pattern_and_unknown_paths_are_unmatched(client_for, alice) -> None:
    signed_in = client_for(alice)
    before = scrape()

    assert signed_in.delete("/api/v1/auth/sessions/no-such-session").status_code == 404
    assert Client().get("/api/v1/no-such-route").status_code == 404
    assert Client().get("/no-such-page").status_code == 404

    after = scrape()
    assert counted(before, after, method="DELETE", route="/auth/sessions/<str:session_id>", status="404") == 1
    assert counted(before, after, method="GET", route="unmatched", status="404") == 2
    assert not any("no-such" in label for _, labels in after for _, label in labels)


def test_an_answer_from_a_middleware_counts_under_its_route(settings) -> None:
    settings.CORS_ORIGINS = ["https://app.example"]
    before = scrape()
    preflight = Client().options("/api/v1/auth/login", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert counted(before, scrape(), method="OPTIONS", route="/auth/login", status="204") == 1


def test_durations_are_a_histogram_per_method_and_route() -> None:
    before = scrape()
    assert Client().get("/health").status_code == 200
    after = scrape()

    name = "http_request_duration_seconds"
    labels = {"method": "GET", "route": "/health"}
    assert value(after, f"{name}_count", **labels) - value(before, f"{name}_count", **labels) == 1
    assert value(after, f"{name}_sum", **labels) > value(before, f"{name}_sum", **labels)
    assert value(after, f"{name}_bucket", **labels, le="+Inf") - value(before, f"{name}_bucket", **labels, le="+Inf") == 1
    bounds = [dict(key)["le"] for sample, key in after if sample == f"{name}_bucket" and dict(key)["route"] == "/health"]
    assert len(bounds) > 2 and "+Inf" in bounds


def test_the_exposition_is_prometheus_text_without_a_token() -> None:
    for address in ("127.0.0.1", "::1", "10.0.0.5", "172.20.1.1", "192.168.1.10", "fd00::5", "::ffff:10.0.0.5"):
        response = Client(REMOTE_ADDR=address).get("/metrics")
        assert response.status_code == 200, address
        assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert Client(REMOTE_ADDR=SCRAPER).get("/metrics/").status_code == 200
    assert Client(REMOTE_ADDR=SCRAPER).post("/metrics").status_code == 405


def test_callers_outside_the_scrape_networks_are_refused() -> None:
    for address in ("203.0.113.9", "2001:db8::1", "::ffff:203.0.113.9"):
        response = Client(REMOTE_ADDR=address).get("/metrics")
        assert response.status_code == 403, address
        assert b"http_requests_total" not in response.content


def test_a_forwarded_public_address_is_refused_behind_a_trusted_proxy(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    assert proxy.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    assert proxy.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9, 10.0.0.7"}).status_code == 200
    # Without a trusted proxy the header is the caller's own claim and changes nothing.
    settings.TRUSTED_PROXY_COUNT = 0
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics", headers={"X-Forwarded-For": "10.0.0.7"}).status_code == 403


def test_the_scrape_networks_are_configurable(settings) -> None:
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("203.0.113.0/24")]
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403


# Serves the given paths in a process of its own and prints the last answer's body.
SERVE = """
import sys
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="localhost", REMOTE_ADDR="127.0.0.1")
for path in sys.argv[1:]:
    response = client.get(path)
sys.stdout.write(response.content.decode())
"""


def serve_in_a_process(multiproc_dir: Path, *paths: str) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir)}
    done = subprocess.run([sys.executable, "-c", SERVE, *paths], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_scrape_sums_every_worker_in_multiprocess_mode(tmp_path: Path) -> None:
    serve_in_a_process(tmp_path, "/health", "/health")
    serve_in_a_process(tmp_path, "/health/", "/no-such-page")
    body = serve_in_a_process(tmp_path, "/metrics")

    samples = parse(body)
    assert value(samples, "http_requests_total", method="GET", route="/health", status="200") == 3
    assert value(samples, "http_request_duration_seconds_count", method="GET", route="/health") == 3
