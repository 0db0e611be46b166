from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F
from rest_framework.test import APIClient

from accounts.models import RefreshToken, Session, User
from core.models import SecurityEvent
from tests.support import RunConcurrently, sign_in

pytestmark = pytest.mark.django_db


def refresh(client: APIClient, token: str) -> Any:
    return client.post("/api/v1/auth/refresh", {"refreshToken": token}, format="json")


def profile(client: APIClient, access_token: str) -> Any:
    return client.get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def test_refresh_rotates_the_token(api: APIClient, alice: User) -> None:
    first = sign_in(api, alice.email)
    response = refresh(api, first["refreshToken"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert body["refreshToken"] != first["refreshToken"]
    assert response["Cache-Control"] == "no-store"
    assert profile(api, body["accessToken"]).status_code == 200
    assert refresh(api, body["refreshToken"]).status_code == 200  # the successor works once too
    assert RefreshToken.objects.filter(token_hash=first["refreshToken"]).count() == 0  # stored hashed only


def test_a_used_token_within_the_grace_is_refused_without_revoking(api: APIClient, alice: User) -> None:
    first = sign_in(api, alice.email)
    successor = refresh(api, first["refreshToken"]).json()
    retried = refresh(api, first["refreshToken"])
    assert retried.status_code == 401
    assert retried.json()["error"] == "TOKEN_INVALID"
    assert profile(api, successor["accessToken"]).status_code == 200
    assert refresh(api, successor["refreshToken"]).status_code == 200
    assert not SecurityEvent.objects.filter(type="REFRESH_TOKEN_REUSE").exists()


def test_reuse_after_the_grace_revokes_the_whole_session(api: APIClient, alice: User) -> None:
    first = sign_in(api, alice.email)
    successor = refresh(api, first["refreshToken"]).json()
    RefreshToken.objects.filter(used_at__isnull=False).update(used_at=F("used_at") - timedelta(seconds=11))
    reused = refresh(api, first["refreshToken"])
    assert reused.status_code == 401
    assert reused.json()["error"] == "TOKEN_INVALID"
    assert Session.objects.get(user=alice).revoked_at is not None
    assert SecurityEvent.objects.filter(type="REFRESH_TOKEN_REUSE", user=alice).count() == 1
    # The thief's and the owner's tokens of that session are all dead now.
    assert profile(api, successor["accessToken"]).status_code == 401
    assert api.post("/api/v1/auth/validate", {"token": successor["accessToken"]}, format="json").json() == {
        "valid": False,
        "reason": "revoked",
    }
    assert refresh(api, successor["refreshToken"]).status_code == 401


def test_unknown_and_malformed_refresh_tokens(api: APIClient) -> None:
    unknown = refresh(api, "not-a-token")
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "TOKEN_INVALID"
    missing = api.post("/api/v1/auth/refresh", {}, format="json")
    assert missing.status_code == 400
    assert list(missing.json()["fields"]) == ["refreshToken"]


def test_an_expired_session_cannot_refresh(api: APIClient, alice: User) -> None:
    first = sign_in(api, alice.email)
    Session.objects.update(expires_at=F("created_at"))
    expired = refresh(api, first["refreshToken"])
    assert expired.status_code == 401
    assert expired.json()["error"] == "TOKEN_EXPIRED"
    assert list(RefreshToken.objects.values_list("used_at", flat=True)) == [None]  # nothing rotated


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("uses", [2, 6])
def test_concurrent_refreshes_of_one_token_produce_exactly_one_successor(make_user, run_concurrently: RunConcurrently, uses: int) -> None:
    user = make_user("twin@example.com")
    first = sign_in(APIClient(), user.email)
    results: list[Any] = run_concurrently(lambda n: refresh(APIClient(), first["refreshToken"]), uses)
    assert sorted(r.status_code for r in results) == [200] + [401] * (uses - 1)
    assert {r.json()["error"] for r in results if r.status_code == 401} == {"TOKEN_INVALID"}
    assert RefreshToken.objects.filter(session__user=user).count() == 2  # the original and one successor
    assert Session.objects.get(user=user).revoked_at is None  # a lost race is not a theft


@pytest.mark.parametrize("ended", ["session revoked", "user deactivated"])
def test_a_token_of_an_ended_session_or_user_is_refused_and_changes_nothing(api: APIClient, alice: User, ended: str) -> None:
    first = sign_in(api, alice.email)
    session = Session.objects.get(user=alice)
    if ended == "session revoked":
        Session.objects.update(revoked_at=F("created_at"))
    else:
        User.objects.filter(pk=alice.pk).update(is_active=False)
    refused = refresh(api, first["refreshToken"])
    assert refused.status_code == 401
    assert refused.json()["error"] == "TOKEN_INVALID"
    # Nothing rotated: the token stays unused, no successor, the session untouched.
    assert list(RefreshToken.objects.values_list("used_at", flat=True)) == [None]
    assert Session.objects.get(pk=session.pk).last_seen_at == session.last_seen_at
    assert not SecurityEvent.objects.filter(type="REFRESH_TOKEN_REUSE").exists()
