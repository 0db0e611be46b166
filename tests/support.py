"""Helpers for tests that start the service in a separate process, as an operator would."""

import base64
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
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
