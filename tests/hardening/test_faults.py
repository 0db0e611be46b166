"""Faults injected on real parts: the database cut off under a running server, the cache down,
the notification service slow, a KEK gone. Each answers 503 (or carries on), counts nothing, and
recovers without a restart."""

import json
import logging
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import LockoutState, LoginAttempt, User
from core import ratelimit
from core.ratelimit import Limit
from mail.models import OutboxMessage
from tests.hardening.figures import FIGURES
from tests.hardening.proxy import CuttableProxy
from tests.notify import NotifyStub
from tests.support import AI_PUBLIC, PASSWORD, REPO, clean_env, free_port


def call(base: str, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(  # noqa: S310 - loopback http only
        f"{base}{path}", data=json.dumps(body).encode() if body is not None else None, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture
def server_behind_proxy(make_user: Any) -> Iterator[tuple[str, CuttableProxy]]:
    db = connection.settings_dict
    proxy = CuttableProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    port = free_port()
    env = clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        MANA_AI_PUBLIC_KEY_PEM=AI_PUBLIC,
        DATABASE_CONN_MAX_AGE="60",
    )
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=2).close()  # noqa: S310
            break
        except OSError:
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
    try:
        yield base, proxy
    finally:
        server.terminate()
        server.wait(timeout=10)
        proxy.cut()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_going_away_is_503_counts_nothing_and_recovers(server_behind_proxy: tuple[str, CuttableProxy], make_user: Any) -> None:
    base, proxy = server_behind_proxy
    user: User = make_user("outage@example.com")
    status, tokens = call(base, "POST", "/api/v1/auth/login", {"email": user.email, "password": PASSWORD})
    assert status == 200
    assert call(base, "POST", "/api/v1/me/encryption-vault/init", {}, tokens["accessToken"])[0] == 200
    attempts_before = LoginAttempt.objects.count()

    proxy.cut()
    during = {
        "login": call(base, "POST", "/api/v1/auth/login", {"email": user.email, "password": "a wrong password!"}),
        "refresh": call(base, "POST", "/api/v1/auth/refresh", {"refreshToken": tokens["refreshToken"]}),
        "vault": call(base, "GET", "/api/v1/me/encryption-vault/key", None, tokens["accessToken"]),
        "grant": call(
            base, "POST", "/api/v1/me/ai-mission-grant", {"missionId": "m", "tables": ["t"], "recordIds": ["t:1"]}, tokens["accessToken"]
        ),
        "ready": call(base, "GET", "/health/ready"),
    }
    for name, (status, body) in during.items():
        assert (status, body["error"], body["status"]) == (503, "SERVICE_UNAVAILABLE", 503), name
        assert set(body) == {"error", "code", "message", "status"}
    assert call(base, "GET", "/health")[0] == 200  # liveness needs no database

    proxy.start()
    assert LoginAttempt.objects.count() == attempts_before  # the wrong password during the outage counted nothing
    assert not LockoutState.objects.filter(locked_until__isnull=False).exists()
    status, again = call(base, "POST", "/api/v1/auth/login", {"email": user.email, "password": PASSWORD})
    assert status == 200
    assert call(base, "POST", "/api/v1/auth/refresh", {"refreshToken": tokens["refreshToken"]})[0] == 200
    assert call(base, "GET", "/api/v1/me/encryption-vault/key", None, again["accessToken"])[0] == 200
    FIGURES.faults.append("database cut under a running server")


CACHE_DOWN = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@pytest.mark.django_db
def test_attack_cache_down_gives_no_unlimited_credential_guesses(alice: User, settings: Any, caplog: Any) -> None:
    """Knocking the cache over must not lift the limits that guard credentials: they fail closed
    (503, counting nothing), the others stay open, and sign-in works again once the cache is back."""
    working = settings.CACHES
    settings.CACHES = CACHE_DOWN
    caplog.set_level(logging.ERROR)
    guesses = [
        APIClient().post("/api/v1/auth/login", {"email": alice.email, "password": "wrong password!"}, format="json") for _ in range(8)
    ]
    assert [(r.status_code, r.json()["error"]) for r in guesses] == [(503, "SERVICE_UNAVAILABLE")] * 8
    assert not LoginAttempt.objects.exists()  # an outage counts toward no lock
    burst = [APIClient().post("/api/v1/auth/forgot-password", {"email": "x@example.com"}, format="json").status_code for _ in range(3)]
    assert burst == [503] * 3
    register = {"email": "new@example.com", "password": PASSWORD, "name": "New"}
    assert APIClient().post("/api/v1/auth/register", register, format="json").status_code == 503
    assert APIClient().post("/api/v1/auth/magic-link", {"email": alice.email}, format="json").status_code == 503
    assert APIClient().post("/api/v1/auth/passkeys/authenticate/options", {}, format="json").status_code == 503
    assert ratelimit.hit(Limit("no-credential", 1, 60), "x").allowed  # a limit that guards no credential still fails open ...
    assert "rate limit cache unavailable; refusing login" in caplog.text  # ... and both say so
    assert "rate limit cache unavailable; allowing no-credential" in caplog.text

    settings.CACHES = working
    assert APIClient().post("/api/v1/auth/login", {"email": alice.email, "password": PASSWORD}, format="json").status_code == 200
    FIGURES.faults.append("cache down")


@pytest.mark.django_db
def test_a_slow_notification_service_does_not_hold_the_action(
    api: APIClient, notify: NotifyStub, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.MANA_NOTIFY_TIMEOUT = 0.3
    notify.delay = 2.0
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/auth/register", {"email": "slow@example.com", "password": "a sturdy passphrase 42"}, format="json")
    assert response.status_code == 201
    assert time.monotonic() - started < 1.9  # bounded by the timeout, not by the slow service
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == ("pending", 1)
    FIGURES.faults.append("notification service slow")


@pytest.mark.django_db
def test_a_missing_kek_is_503_and_audited(alice: User, client_for: Any, settings: Any) -> None:
    client = client_for(alice)
    client.post("/api/v1/me/encryption-vault/init")
    settings.MANA_AUTH_KEK, settings.MANA_AUTH_KEK_ID = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", "other"
    response = client.get("/api/v1/me/encryption-vault/key")
    assert (response.status_code, response.json()["error"]) == (503, "SERVICE_UNAVAILABLE")
    FIGURES.faults.append("KEK missing")
