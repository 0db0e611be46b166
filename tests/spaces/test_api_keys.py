import json
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F
from rest_framework.test import APIClient

from accounts.models import User
from core import clock, ratelimit
from core.models import SecurityEvent
from core.secrets import token_hash
from spaces.models import ApiKey
from spaces.services_api_keys import API_KEY_VALIDATE_LIMIT

pytestmark = pytest.mark.django_db

BASE = "/api/v1/api-keys"


@pytest.fixture
def service() -> APIClient:
    """A speech service: it sends no credential of its own (PLATFORM.md §5)."""
    return APIClient()


def validate(service: APIClient, key: str, scope: str | None = None) -> dict[str, Any]:
    return dict(service.post(f"{BASE}/validate", {"apiKey": key} | ({"scope": scope} if scope else {}), format="json").json())


def test_create_shows_the_key_once_and_stores_only_its_hash(alice: User, client_for) -> None:
    client = client_for(alice)
    created = client.post(BASE, {"name": "Dictation"}, format="json")
    assert created.status_code == 201
    assert created["Cache-Control"] == "no-store"
    body = created.json()
    key = body["key"]
    assert key.startswith("sk_live_")
    assert len(key) == len("sk_live_") + 64
    int(key.removeprefix("sk_live_"), 16)
    assert body["keyPrefix"] == key[: len("sk_live_") + 8]  # flat (PLATFORM.md §5)
    assert (body["scopes"], body["rateLimitRequests"]) == (["stt", "tts"], 60)
    row = ApiKey.objects.get()
    assert row.key_hash == token_hash(key)
    listed = client.get(BASE)
    assert key not in listed.content.decode()
    assert row.key_hash not in listed.content.decode()
    assert set(listed.json()[0]) == {"id", "name", "keyPrefix", "scopes", "rateLimitRequests", "createdAt", "lastUsedAt", "revokedAt"}
    assert set(body) == set(listed.json()[0]) | {"key"}
    assert key not in json.dumps(list(SecurityEvent.objects.values("metadata")))


def test_validate_scope_revocation_and_last_used(alice: User, client_for, service: APIClient) -> None:
    client = client_for(alice)
    key = client.post(BASE, {"name": "k", "scopes": ["stt"]}, format="json").json()["key"]
    valid = validate(service, key, "stt")
    assert valid["valid"] is True
    assert (valid["userId"], valid["scopes"]) == (alice.id, ["stt"])
    assert valid["rateLimit"] == {"requests": 60, "window": 60, "remaining": 59}
    assert ApiKey.objects.get().last_used_at is not None
    assert validate(service, key, "tts") == {"valid": False, "error": "scope_denied"}
    assert validate(service, "sk_live_" + "0" * 64) == {"valid": False, "error": "invalid"}
    assert validate(service, "not-a-key") == {"valid": False, "error": "invalid"}
    key_id = ApiKey.objects.get().id
    assert client.delete(f"{BASE}/{key_id}").json() == {"success": True}
    assert validate(service, key, "stt") == {"valid": False, "error": "revoked"}
    assert set(SecurityEvent.objects.filter(user=alice, type__startswith="API_KEY").values_list("type", flat=True)) == {
        "API_KEY_CREATED",
        "API_KEY_REVOKED",
    }


def test_last_used_is_written_at_most_once_a_minute(alice: User, client_for, service: APIClient) -> None:
    key = client_for(alice).post(BASE, {"name": "k"}, format="json").json()["key"]
    validate(service, key)
    first = ApiKey.objects.get().last_used_at
    validate(service, key)
    assert ApiKey.objects.get().last_used_at == first
    ApiKey.objects.update(last_used_at=F("last_used_at") - timedelta(seconds=61))
    validate(service, key)
    assert ApiKey.objects.get().last_used_at > first  # type: ignore[operator]


def test_the_61st_validation_in_a_minute_is_rate_limited(alice: User, client_for, service: APIClient) -> None:
    key = client_for(alice).post(BASE, {"name": "k"}, format="json").json()["key"]
    answers = [validate(service, key) for _ in range(61)]
    assert all(answer["valid"] for answer in answers[:60])
    assert answers[60]["valid"] is False
    assert answers[60]["error"] == "rate_limited"
    assert answers[60]["rateLimit"]["remaining"] == 0


def test_validate_needs_no_credential_and_always_answers_200(alice: User, client_for) -> None:
    user_client = client_for(alice)
    key = user_client.post(BASE, {"name": "k"}, format="json").json()["key"]
    for client in (APIClient(), user_client):
        response = client.post(f"{BASE}/validate", {"apiKey": key}, format="json")
        assert (response.status_code, response.json()["valid"]) == (200, True)
    for body in ({}, {"apiKey": 42}, {"apiKey": "x" * 500}):
        refused = APIClient().post(f"{BASE}/validate", body, format="json")
        assert (refused.status_code, refused.json()) == (200, {"valid": False, "error": "invalid"})


def test_a_stranger_cannot_revoke_and_keys_bind_only_to_own_spaces(alice: User, charlie: User, client_for, service: APIClient) -> None:
    key_id = client_for(alice).post(BASE, {"name": "k"}, format="json").json()["id"]
    stranger = client_for(charlie)
    assert stranger.delete(f"{BASE}/{key_id}").status_code == 404
    assert ApiKey.objects.get(pk=key_id).revoked_at is None
    assert stranger.get(BASE).json() == []
    team = client_for(alice).post("/api/v1/spaces", {"name": "Team", "type": "team"}, format="json").json()["space"]
    bound = client_for(alice).post(BASE, {"name": "bound", "spaceId": team["id"]}, format="json")
    assert ApiKey.objects.get(pk=bound.json()["id"]).space_id == team["id"]
    assert validate(service, bound.json()["key"])["spaceId"] == team["id"]


def test_bad_input_and_anonymous(alice: User, client_for) -> None:
    client = client_for(alice)
    missing = client.post(BASE, {}, format="json")
    assert (missing.status_code, list(missing.json()["fields"])) == (400, ["name"])
    bad_scope = client.post(BASE, {"name": "k", "scopes": ["BAD SCOPE"]}, format="json")
    assert bad_scope.status_code == 400
    for response in (APIClient().get(BASE), APIClient().post(BASE, {"name": "k"}, format="json"), APIClient().delete(f"{BASE}/x")):
        assert (response.status_code, response.json()["error"]) == (401, "UNAUTHORIZED")


def test_speech_service_validates_a_key_made_with_its_scope_and_own_rate_limit(alice: User, client_for, service: APIClient) -> None:
    created = client_for(alice).post(BASE, {"name": "Dictation", "scopes": ["stt"], "rateLimitRequests": 3}, format="json").json()
    assert (created["scopes"], created["rateLimitRequests"]) == (["stt"], 3)
    assert ApiKey.objects.get().rate_limit == 3
    answers = [validate(service, created["key"], "stt") for _ in range(4)]
    assert [answer["valid"] for answer in answers] == [True, True, True, False]
    assert answers[0] == {
        "valid": True,
        "userId": alice.id,
        "spaceId": None,
        "scopes": ["stt"],
        "rateLimit": {"requests": 3, "window": 60, "remaining": 2},
    }
    assert answers[3]["error"] == "rate_limited"
    assert answers[3]["retryAfterSec"] >= 1


def test_web_api_key_page_is_refused_other_scopes_and_bad_rate_limits(alice: User, client_for) -> None:
    client = client_for(alice)
    for body, field in (
        ({"name": "k", "scopes": ["admin"]}, "scopes.0"),
        ({"name": "k", "scopes": []}, "scopes"),
        ({"name": "k", "rateLimitRequests": 0}, "rateLimitRequests"),
    ):
        response = client.post(BASE, body, format="json")
        assert (response.status_code, response.json()["error"], list(response.json()["fields"])) == (400, "VALIDATION", [field])
    assert not ApiKey.objects.exists()


def test_a_flood_of_validations_from_one_address_is_answered_rate_limited(
    alice: User, client_for, service: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One fixed window for the flood and the request: a window boundary between them (the flood
    # takes about a second) would empty the bucket before the request is counted.
    monkeypatch.setattr(clock, "timestamp", lambda: 1_800_000_030.0)
    key = client_for(alice).post(BASE, {"name": "k", "rateLimitRequests": 100_000}, format="json").json()["key"]
    flood = ratelimit.Limit(API_KEY_VALIDATE_LIMIT.scope, API_KEY_VALIDATE_LIMIT.limit, API_KEY_VALIDATE_LIMIT.window_seconds)
    for _ in range(flood.limit):
        ratelimit.hit(flood, "127.0.0.1")
    answer = service.post(f"{BASE}/validate", {"apiKey": key}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["valid"], answer.json()["error"]) == (False, "rate_limited")
    assert ApiKey.objects.get().last_used_at is None  # the key was not even looked at
