"""Shared fixtures. The cast (DESIGN.md §Tests): alice owns, bob is a member of alice's space,
charlie is a stranger."""

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts import jwt
from accounts.models import User
from tests.notify import NotifyStub

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


PASSWORD = "correct horse battery staple"


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


def sign_in(client: APIClient, email: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", {"email": email, "password": password, **extra}, format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


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
    settings.MAILERS = {"default": {"BACKEND": "accounts.mail_backend.NotifyEmailBackend"}}  # the test runner put locmem there
    settings.MANA_SERVICE_KEY = "notify-test-service-key"
    yield stub
    stub.stop()


@pytest.fixture
def api() -> APIClient:
    return APIClient()
