import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from rest_framework.test import APIClient
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from config.sentry import init_sentry
from tests.support import REPO, clean_env

pytestmark = pytest.mark.urls("tests.core.urls")


class RecordingTransport(Transport):
    """Keeps what the SDK would send, instead of sending it."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.type == "event" and item.payload.json is not None:
                self.events.append(item.payload.json)


@pytest.fixture
def recorded() -> Iterator[RecordingTransport]:
    transport = RecordingTransport()
    init_sentry(dsn="http://public@127.0.0.1:9/1", environment="test", transport=transport)
    yield transport
    sentry_sdk.init()  # no DSN: back to a disabled client for the other tests


def test_server_error_is_captured_without_secrets(api: APIClient, recorded: RecordingTransport) -> None:
    api.cookies["sessionid"] = "cookie-secret-value"
    response = api.post(
        "/api/test/crash?token=query-secret-value",
        {"email": "a@example.com", "password": "body-secret-value"},
        format="json",
        HTTP_AUTHORIZATION="Bearer header-secret-value",
        HTTP_X_REQUEST_ID="rid-sentry",
    )
    assert response.status_code == 500
    sentry_sdk.flush()
    assert len(recorded.events) == 1
    event = recorded.events[0]
    assert event["request"]["url"].endswith("/api/test/crash")
    assert event["request"]["method"] == "POST"
    assert event["tags"]["request_id"] == "rid-sentry"
    assert event["server_name"] == "mana-auth"
    dumped = json.dumps(event)
    for secret in ("cookie-secret-value", "body-secret-value", "header-secret-value", "query-secret-value"):
        assert secret not in dumped


def test_database_outage_is_captured(api: APIClient, recorded: RecordingTransport) -> None:
    assert api.get("/api/test/db-down").status_code == 503
    sentry_sdk.flush()
    assert len(recorded.events) == 1


def test_client_errors_are_not_captured(api: APIClient, recorded: RecordingTransport) -> None:
    assert api.post("/api/test/echo", {"email": "nope"}, format="json").status_code == 400
    assert api.get("/api/v1/nothing").status_code == 404
    assert api.delete("/health").status_code == 405
    assert api.get("/api/v1/internal/test").status_code == 401
    sentry_sdk.flush()
    assert recorded.events == []


@pytest.mark.parametrize(
    ("dsn_env", "active"),
    [({}, False), ({"SENTRY_DSN": "http://public@127.0.0.1:9/1"}, True), ({"GLITCHTIP_DSN": "http://public@127.0.0.1:9/2"}, True)],
)
def test_sentry_is_initialised_only_with_a_dsn(dsn_env: dict[str, str], active: bool) -> None:
    # Without a DSN the SDK is not even imported: the whole application loaded, no worker holds it.
    code = (
        "import sys, config.wsgi; sdk = sys.modules.get('sentry_sdk'); "
        "print('sentry_sdk' in sys.modules, sdk is not None and sdk.get_client().is_active())"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=REPO,
        env=clean_env(DJANGO_SETTINGS_MODULE="config.settings.base", **dsn_env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(active), str(active)]
