"""Every log record of a whole session — register, verify, login, refresh, vault key, grant,
passkey, 2FA — holds no password, token, code or key."""

import base64
import logging
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts import totp
from core import clock
from tests.notify import NotifyStub
from tests.passkeys.authenticator import SoftAuthenticator
from tests.support import AI_PUBLIC

pytestmark = pytest.mark.django_db

PASSWORD = "a sturdy passphrase 42"


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        formatter = logging.Formatter("%(name)s %(message)s")
        return "\n".join(formatter.format(record) + " " + str(record.__dict__.get("args")) for record in self.records)


def test_a_full_session_leaves_no_secret_in_the_logs(
    notify: NotifyStub, settings: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    settings.MANA_AI_PUBLIC_KEY_PEM = AI_PUBLIC
    now = {"t": 1_800_000_015.0}
    monkeypatch.setattr(clock, "timestamp", lambda: now["t"])
    handler = Everything()
    # The root and Django's own tree (which does not propagate to the root in our settings).
    loggers = [logging.getLogger(), logging.getLogger("django")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    secrets: list[str] = [PASSWORD]
    try:
        api = APIClient()
        with django_capture_on_commit_callbacks(execute=True):
            api.post("/api/v1/auth/register", {"email": "logs@example.com", "password": PASSWORD}, format="json")
        verify_token = notify.to("logs@example.com")[0].link_token("verify-email")
        signed_in = api.post("/api/v1/auth/verify-email", {"token": verify_token}, format="json").json()
        login = api.post("/api/v1/auth/login", {"email": "logs@example.com", "password": PASSWORD}, format="json").json()
        api.post("/api/v1/auth/login", {"email": "logs@example.com", "password": "a wrong one, also secret"}, format="json")
        refreshed = api.post("/api/v1/auth/refresh", {"refreshToken": login["refreshToken"]}, format="json").json()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed['accessToken']}")
        master_key = client.post("/api/v1/me/encryption-vault/init").json()["masterKey"]
        grant = client.post("/api/v1/me/ai-mission-grant", {"missionId": "m", "tables": ["t"], "recordIds": ["t:1"]}, format="json").json()
        api_key = client.post("/api/v1/api-keys", {"name": "k"}, format="json").json()["key"]
        authenticator = SoftAuthenticator()
        options = client.post("/api/v1/auth/passkeys/register/options").json()
        client.post(
            "/api/v1/auth/passkeys/register/verify",
            {"response": authenticator.create(options=options, origin="http://localhost:8000")},
            format="json",
        )
        request = APIClient().post("/api/v1/auth/passkeys/authenticate/options", {}, format="json").json()
        passkey = (
            APIClient()
            .post(
                "/api/v1/auth/passkeys/authenticate/verify",
                {"response": authenticator.get(options=request, origin="http://localhost:8000")},
                format="json",
            )
            .json()
        )
        enrollment = client.post("/api/v1/auth/two-factor/enable", {"password": PASSWORD}, format="json").json()
        first_code = totp.code_at(enrollment["secret"], now["t"])
        client.post("/api/v1/auth/two-factor/confirm", {"code": first_code}, format="json")
        handoff = APIClient().post("/api/v1/auth/login", {"email": "logs@example.com", "password": PASSWORD}, format="json").json()
        now["t"] += 30
        second_code = totp.code_at(enrollment["secret"], now["t"])
        APIClient().post("/api/v1/auth/two-factor/verify", {"twoFactorToken": handoff["twoFactorToken"], "code": "000000"}, format="json")
        final = (
            APIClient()
            .post("/api/v1/auth/two-factor/verify", {"twoFactorToken": handoff["twoFactorToken"], "code": second_code}, format="json")
            .json()
        )
        secrets += [
            "a wrong one, also secret",
            verify_token,
            signed_in["accessToken"], signed_in["refreshToken"], signed_in["deviceToken"],
            login["accessToken"], login["refreshToken"], login["deviceToken"],
            refreshed["accessToken"], refreshed["refreshToken"],
            master_key, base64.b64decode(master_key).hex(),
            grant["wrappedKey"], api_key,
            passkey["accessToken"], passkey["refreshToken"],
            enrollment["secret"], *enrollment["backupCodes"], first_code, second_code,
            handoff["twoFactorToken"], final["accessToken"], final["refreshToken"],
        ]  # fmt: skip
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    assert len(handler.records) > 10  # the session did log: the check below means something
    text = handler.text()
    leaked = [secret for secret in secrets if secret and secret in text]
    assert leaked == []
