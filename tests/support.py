"""Plain helpers and constants shared by test modules (fixtures live in the conftest.py files):
the cast's password, signing in over HTTP, the AI key pair, the account-route and two-factor
helpers, and helpers for tests that start the service in a separate process, as an operator would."""

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import caches
from pytest_django import DjangoCaptureOnCommitCallbacks
from rest_framework.test import APIClient

from accounts import jwt, totp
from accounts.models import Session, User
from core import clock
from tests.notify import NotifyStub

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"


def sign_in(client: APIClient, email: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", {"email": email, "password": password, **extra}, format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


class RunConcurrently(Protocol):
    """The `run_concurrently` fixture: `function(n)` for n in range(count), each in its own thread,
    all released at once; the results in the order the threads finished."""

    def __call__(self, function: Callable[[int], T], count: int) -> list[T]: ...


# --- the AI key pair --------------------------------------------------------------------------
def keypair(bits: int = 2048) -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private_pem, public_pem


AI_PRIVATE, AI_PUBLIC = keypair()


# --- the account routes of /api/v1/auth (API.md §Accounts) ------------------------------------
AUTH = "/api/v1/auth"
NEW_PASSWORD = "a different sturdy passphrase 7"
ClientFor = Callable[..., APIClient]
Capture = DjangoCaptureOnCommitCallbacks


def redis_commands_sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the commands sent to the default cache's Redis from now on, in order."""
    client = caches["default"].client.get_client(write=True)  # type: ignore[attr-defined]
    sent: list[str] = []
    execute = client.execute_command

    def counted(*args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return execute(*args, **options)

    monkeypatch.setattr(client, "execute_command", counted)
    return sent


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The error envelope of API.md §Errors, checked by code and status, never by message."""
    assert response.status_code == status, response.content
    body = dict(response.json())
    assert body["error"] == code
    assert body["status"] == status
    assert set(body) <= {"error", "code", "message", "status", "fields", "retryAfterSec"}
    return body


def assert_validation(response: Any, field: str) -> None:
    body = assert_error(response, 400, "VALIDATION")
    assert isinstance(body.get("fields"), dict)
    assert field in body["fields"], body["fields"]


def tokens_of(client: APIClient) -> dict[str, Any]:
    return dict(client.tokens)  # type: ignore[attr-defined]


def session_id_of(client: APIClient) -> str:
    return str(jwt.decode_access_token(tokens_of(client)["accessToken"])["sid"])


def bearer(access_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


def profile_status(client: APIClient) -> int:
    return int(client.get(f"{AUTH}/profile").status_code)


def login_status(email: str, password: str) -> int:
    return int(APIClient().post(f"{AUTH}/login", {"email": email, "password": password}, format="json").status_code)


def active_session_ids(user: User) -> set[str]:
    return set(Session.objects.filter(user=user, revoked_at__isnull=True).values_list("id", flat=True))


def request_reset_link(api: APIClient, notify: NotifyStub, capture: Capture, email: str) -> str:
    with capture(execute=True):
        response = api.post(f"{AUTH}/forgot-password", {"email": email}, format="json")
    assert response.status_code == 200
    [delivery] = notify.to(email)
    notify.deliveries.clear()
    return delivery.link_token("reset-password")


# --- two-factor sign-in -----------------------------------------------------------------------
class Clock:
    """Moves the services' clock in whole TOTP steps."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_800_000_015.0
        monkeypatch.setattr(clock, "timestamp", lambda: self.now)

    def step(self, steps: int = 1) -> None:
        self.now += 30 * steps


def enable(client: APIClient, steps: Clock) -> dict[str, Any]:
    enrollment = client.post(f"{AUTH}/two-factor/enable", {"password": PASSWORD}, format="json")
    assert enrollment.status_code == 200
    body = dict(enrollment.json())
    confirmed = client.post(f"{AUTH}/two-factor/confirm", {"code": totp.code_at(body["secret"], steps.now)}, format="json")
    assert confirmed.json() == {"success": True}
    return body


def login(client: APIClient, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post(f"{AUTH}/login", {"email": email, "password": password, **extra}, format="json")


def verify(client: APIClient, token: str, **body: Any) -> Any:
    return client.post(f"{AUTH}/two-factor/verify", {"twoFactorToken": token, **body}, format="json")


# --- the service in a separate process --------------------------------------------------------
CONFIG_VARIABLES = (
    "DJANGO_ENV",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "MANA_AUTH_KEK",
    "MANA_AUTH_KEK_ID",
    "MANA_AUTH_OLD_KEKS",
    "MANA_SERVICE_KEY",
    "MANA_NOTIFY_URL",
    "GLITCHTIP_DSN",
    "SENTRY_DSN",
    "BASE_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def clean_env(**overrides: str) -> dict[str, str]:
    """The current environment without any of the service's configuration, plus `overrides`."""
    env = {name: value for name, value in os.environ.items() if name not in CONFIG_VARIABLES}
    env.update(overrides)
    return env


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    variables = {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
        "DJANGO_ALLOWED_HOSTS": "auth.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "MANA_AUTH_KEK": base64.b64encode(os.urandom(32)).decode(),
        "MANA_SERVICE_KEY": base64.b64encode(os.urandom(24)).decode(),
        "MANA_NOTIFY_URL": "http://127.0.0.1:9",
        "CORS_ORIGINS": "https://app.example.com",
    }
    return clean_env(**(variables | overrides))


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(REPO / "manage.py"), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
