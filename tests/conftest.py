"""Shared fixtures. The cast (DESIGN.md §Tests): alice owns, bob is a member of alice's space,
charlie is a stranger."""

import base64
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts import jwt
from accounts.models import DeviceToken, EmailToken, RefreshToken, SigningKey, TwoFactor, User
from core import clock
from core.rls import acting_as
from mail.models import OutboxMessage
from tests.notify import NotifyStub
from tests.passkeys.authenticator import SoftAuthenticator
from tests.support import AI_PUBLIC, PASSWORD, RunConcurrently, sign_in
from vault.models import Vault

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = "/usr/bin/chromium"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """PostgreSQL-only and Redis-only tests skip with a reason on a developer's SQLite run, and
    fail instead of skipping in CI, where both services must be there."""
    needs = {
        "postgres": (connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://…)"),
        "redis": (bool(os.environ.get("REDIS_URL")), "Redis (REDIS_URL=redis://…)"),
        "browser": (os.path.exists(CHROMIUM), f"Chromium at {CHROMIUM} (apt-get install chromium)"),
    }
    for marker, (available, what) in needs.items():
        if item.get_closest_marker(marker) and not available:
            if IN_CI:
                pytest.fail(f"needs {what}, which CI must provide", pytrace=False)
            pytest.skip(f"needs {what}; runs in CI")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The hardening figures, at the end of every run that exercised them."""
    from tests.hardening.figures import FIGURES

    if FIGURES.cases or FIGURES.faults:
        terminalreporter.section("hardening")
        for line in FIGURES.lines():
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    jwt.clear_key_cache()  # keys made by an earlier test were rolled back with its transaction
    yield
    cache.clear()


@pytest.fixture
def one_rate_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Holds the services' clock (core/clock.py) at the first second of the current hour. The rate
    limits count in fixed windows, and a test that counts up to one in real time now and then
    crosses into a fresh window and sees a request too many let through; every window the limits
    use divides an hour. A test may still move the clock on from there."""
    start = time.time() // 3600 * 3600 + 1
    monkeypatch.setattr(clock, "timestamp", lambda: start)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(email: str, *, password: str | None = PASSWORD, verified: bool = True, **fields: Any) -> User:
        return User.objects.create_user(email, password, email_verified=verified, **fields)

    return make


@pytest.fixture
def alice(make_user: Callable[..., User]) -> User:
    return make_user("alice@example.com", name="Alice")


@pytest.fixture
def bob(make_user: Callable[..., User]) -> User:
    return make_user("bob@example.com", name="Bob")


@pytest.fixture
def charlie(make_user: Callable[..., User]) -> User:
    return make_user("charlie@example.com", name="Charlie")


@pytest.fixture
def client_for(db: None) -> Callable[[User], APIClient]:
    """An API client signed in as the user, with Bearer credentials."""

    def make(user: User, password: str = PASSWORD) -> APIClient:
        client = APIClient()
        tokens = sign_in(client, user.email, password)
        client.cookies.clear()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['accessToken']}")
        client.tokens = tokens  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def notify(settings: Any) -> Iterator[NotifyStub]:
    """The notification service, running for real on loopback."""
    stub = NotifyStub()
    stub.start()
    settings.MANA_NOTIFY_URL = stub.url
    settings.MAILERS = {"default": {"BACKEND": "mail.backend.NotifyEmailBackend"}}  # the test runner put locmem there
    settings.MANA_SERVICE_KEY = "notify-test-service-key"
    yield stub
    stub.stop()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def run_concurrently() -> RunConcurrently:
    """Races: `run_concurrently(function, count)` calls `function(n)` for n in range(count), each in
    its own thread, all held at a barrier and released together, and returns the results in the
    order the threads finished. Each thread closes its own database connection when it is done."""

    def run(function: Callable[[int], Any], count: int) -> list[Any]:
        results: list[Any] = []
        start = threading.Barrier(count)
        lock = threading.Lock()

        def thread_body(n: int) -> None:
            try:
                start.wait()
                outcome = function(n)
                with lock:
                    results.append(outcome)
            finally:
                connection.close()

        threads = [threading.Thread(target=thread_body, args=(n,)) for n in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    return run


@pytest.fixture
def seeded(alice: User, bob: User, client_for, settings, django_capture_on_commit_callbacks) -> dict[str, str]:
    """Data in every table the admin shows, with the secret values that must never appear."""
    settings.MANA_AI_PUBLIC_KEY_PEM = AI_PUBLIC
    settings.MANA_SERVICE_KEY = "admin-test-service-key"
    client = client_for(alice)
    master_key = client.post("/api/v1/me/encryption-vault/init").json()["masterKey"]
    grant = client.post(
        "/api/v1/me/ai-mission-grant", {"missionId": "m", "tables": ["notes"], "recordIds": ["notes:1"]}, format="json"
    ).json()
    totp_secret = client.post("/api/v1/auth/two-factor/enable", {"password": PASSWORD}, format="json").json()["secret"]
    api_key = client.post("/api/v1/api-keys", {"name": "seed"}, format="json").json()["key"]
    options = client.post("/api/v1/auth/passkeys/register/options").json()
    client.post(
        "/api/v1/auth/passkeys/register/verify",
        {"response": SoftAuthenticator().create(options=options, origin="http://localhost:8000")},
        format="json",
    )
    space = client.post("/api/v1/spaces", {"name": "Seed Team", "type": "team"}, format="json").json()["space"]
    with django_capture_on_commit_callbacks(execute=False):  # mail stays in the outbox, body wrapped
        client.post(f"/api/v1/spaces/{space['id']}/invitations", {"email": "guest@example.com", "role": "member"}, format="json")
        APIClient().post("/api/v1/auth/forgot-password", {"email": bob.email}, format="json")
    internal = APIClient()
    internal.credentials(HTTP_X_SERVICE_KEY="admin-test-service-key")
    internal.post(
        "/api/v1/internal/decrypt-audit",
        {"userId": alice.id, "missionId": "m", "iterationId": "i", "entries": [{"tableName": "notes", "recordId": "1", "status": "ok"}]},
        format="json",
    )
    for _ in range(5):
        APIClient().post("/api/v1/auth/login", {"email": bob.email, "password": "wrong password!"}, format="json")
    with acting_as(alice.id):
        wrapped = bytes(Vault.objects.get(user=alice).wrapped_mk or b"")
    signing = SigningKey.objects.get(active=True)
    secrets = {
        "master key": master_key,
        "wrapped master key (base64)": base64.b64encode(wrapped).decode(),
        "wrapped master key (hex)": wrapped.hex(),
        "grant wrapped key": grant["wrappedKey"],
        "password hash": User.objects.get(pk=alice.pk).password,
        "totp secret": totp_secret,
        "totp secret wrapped": TwoFactor.objects.get(user=alice).secret_wrapped,
        "api key": api_key,
        "private jwt key": signing.private_key_wrapped,
        "outbox body": OutboxMessage.objects.exclude(body_wrapped="").first().body_wrapped,  # type: ignore[union-attr]
    }
    for model in (RefreshToken, DeviceToken, EmailToken):
        secrets[f"{model.__name__} hash"] = model.objects.values_list("token_hash", flat=True).first()
    return {name: value for name, value in secrets.items() if value}
