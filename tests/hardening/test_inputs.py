"""Bad input by hand, where fuzzing is weak: every answer is a 4xx envelope, nothing is stored."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from spaces.models import Space

pytestmark = pytest.mark.django_db

INJECTIONS = [
    "' OR 1=1 --",
    '"; DROP TABLE accounts_user; --',
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "<script>alert(1)</script>",
    "${7*7}",
]


def envelope(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert (body["error"], body["status"]) == (code, status)


def test_an_oversized_body_is_413(api: APIClient) -> None:
    response = api.post("/api/v1/auth/register", {"email": "a@example.com", "password": "x" * 2_000_000}, format="json")
    envelope(response, 413, "PAYLOAD_TOO_LARGE")


def test_deeply_nested_json_is_refused(alice: User, client_for: Any) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    envelope(APIClient().generic("POST", "/api/v1/auth/login", deep, content_type="application/json"), 400, "VALIDATION")
    nested: dict[str, Any] = {}
    cursor = nested
    for _ in range(40):
        cursor["a"] = {}
        cursor = cursor["a"]
    envelope(client_for(alice).patch("/api/v1/settings/global", nested, format="json"), 400, "VALIDATION")


def test_bytes_that_are_not_utf8_are_refused(api: APIClient) -> None:
    not_utf8 = b'{"email": "\xff\xfe"}'
    envelope(api.generic("POST", "/api/v1/auth/login", not_utf8, content_type="application/json"), 400, "VALIDATION")  # type: ignore[arg-type]


def test_nul_bytes_in_strings_are_refused_before_the_database(alice: User, client_for: Any) -> None:
    client = client_for(alice)
    envelope(APIClient().post("/api/v1/auth/login", {"email": "a\x00@example.com", "password": "p"}, format="json"), 400, "VALIDATION")
    envelope(client.patch("/api/v1/settings/global", {"theme": "da\x00rk"}, format="json"), 400, "VALIDATION")
    envelope(
        client.post("/api/v1/spaces", {"name": "ok", "type": "team", "metadata": {"type": "team", "x\x00": 1}}, format="json"),
        400,
        "VALIDATION",
    )
    assert not Space.objects.filter(type="team").exists()


def test_a_ten_kilobyte_email_is_refused(api: APIClient) -> None:
    envelope(
        api.post("/api/v1/auth/register", {"email": "a" * 10_000 + "@example.com", "password": "a sturdy passphrase 42"}, format="json"),
        400,
        "VALIDATION",
    )
    assert not User.objects.exists()


def test_unicode_look_alike_addresses_are_one_account(api: APIClient) -> None:
    first = api.post(
        "/api/v1/auth/register", {"email": "anna@example.com", "password": "a sturdy passphrase 42"}, format="json", REMOTE_ADDR="10.9.0.1"
    )
    assert first.status_code == 201
    for look_alike in ("ANNA@example.com", "ａｎｎａ@example.com", " anna@EXAMPLE.com "):
        again = api.post(
            "/api/v1/auth/register", {"email": look_alike, "password": "a sturdy passphrase 42"}, format="json", REMOTE_ADDR="10.9.0.2"
        )
        assert again.status_code in (400, 409), look_alike
    assert User.objects.count() == 1


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_strings_are_plain_text_everywhere(payload: str, alice: User, client_for: Any) -> None:
    client = client_for(alice)
    profile = client.post("/api/v1/auth/profile", {"name": payload}, format="json")
    assert profile.json()["user"]["name"] == payload  # stored and returned as text, nothing evaluated
    login = APIClient().post("/api/v1/auth/login", {"email": payload, "password": payload}, format="json")
    assert login.status_code == 401
    space = client.post("/api/v1/spaces", {"name": payload, "type": "team"}, format="json")
    assert space.status_code == 201
    assert space.json()["space"]["name"] == payload
    settings = client.patch("/api/v1/settings/app/notes", {"title": payload}, format="json")
    assert settings.json()["appOverrides"] == {"notes": {"title": payload}}
    assert User.objects.count() == 1


def test_huge_limits_and_negative_ttls(alice: User, client_for: Any, settings: Any) -> None:
    client = client_for(alice)
    envelope(client.get("/api/v1/me/ai-audit?limit=99999999999999999999"), 400, "VALIDATION")
    envelope(client.get("/api/v1/me/ai-audit?limit=-1"), 400, "VALIDATION")
    settings.MANA_AI_PUBLIC_KEY_PEM = ""
    envelope(
        client.post(
            "/api/v1/me/ai-mission-grant", {"missionId": "m", "tables": ["t"], "recordIds": ["t:1"], "ttlMs": -3600000}, format="json"
        ),
        400,
        "VALIDATION",
    )
    envelope(
        client.post(
            "/api/v1/me/ai-mission-grant", {"missionId": "m", "tables": ["t"], "recordIds": ["t:1"], "ttlMs": 10**30}, format="json"
        ),
        400,
        "VALIDATION",
    )
