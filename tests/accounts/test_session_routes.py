"""The session routes of /api/v1/auth, through HTTP only (API.md §Accounts): listing and revoking
sessions, the security-event list, and logging out; who may touch which session, and what each
call leaves in the database."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import RefreshToken, Session, User
from core.models import SecurityEvent
from tests.support import AUTH, ClientFor, active_session_ids, assert_error, bearer, profile_status, session_id_of, sign_in, tokens_of

pytestmark = pytest.mark.django_db


# --- strangers --------------------------------------------------------------------------------
def test_stranger_cannot_revoke_someone_elses_session(alice: User, charlie: User, client_for: ClientFor) -> None:
    alice_client, charlie_client = client_for(alice), client_for(charlie)
    alice_sid = session_id_of(alice_client)

    response = charlie_client.delete(f"{AUTH}/sessions/{alice_sid}")

    assert_error(response, 404, "NOT_FOUND")
    assert Session.objects.get(pk=alice_sid).revoked_at is None
    assert profile_status(alice_client) == 200
    assert not SecurityEvent.objects.filter(type="SESSION_REVOKED").exists()


def test_revoking_an_unknown_session_is_not_found(alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    assert_error(client.delete(f"{AUTH}/sessions/00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND")
    assert active_session_ids(alice) == {session_id_of(client)}


# --- GET /sessions and DELETE /sessions/{id} --------------------------------------------------
def test_sessions_lists_only_the_callers_active_sessions_with_one_current(alice: User, bob: User, client_for: ClientFor) -> None:
    current, other, logged_out, expired = (client_for(alice) for _ in range(4))
    bob_client = client_for(bob)
    assert logged_out.post(f"{AUTH}/logout").status_code == 200
    Session.objects.filter(pk=session_id_of(expired)).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = current.get(f"{AUTH}/sessions")

    assert response.status_code == 200
    sessions = response.json()  # a bare array (PLATFORM.md §1)
    assert {session["id"] for session in sessions} == {session_id_of(current), session_id_of(other)}
    assert session_id_of(bob_client) not in {session["id"] for session in sessions}
    assert [session["id"] for session in sessions if session["current"]] == [session_id_of(current)]
    fields = {"id", "ipAddress", "userAgent", "deviceId", "deviceName", "lastActivityAt", "createdAt", "expiresAt", "current"}
    assert all(set(session) == fields for session in sessions)


def test_deleting_a_session_revokes_it_and_its_access_token(alice: User, client_for: ClientFor) -> None:
    current, other = client_for(alice), client_for(alice)
    other_sid = session_id_of(other)

    response = current.delete(f"{AUTH}/sessions/{other_sid}")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert Session.objects.get(pk=other_sid).revoked_at is not None
    assert_error(other.get(f"{AUTH}/profile"), 401, "UNAUTHORIZED")
    assert profile_status(current) == 200
    assert SecurityEvent.objects.get(user=alice, type="SESSION_REVOKED").metadata == {"sessionId": other_sid}


def test_session_and_event_lists_never_contain_secrets(alice: User, client_for: ClientFor) -> None:
    clients = [client_for(alice), client_for(alice)]
    secrets = [tokens_of(c)[name] for c in clients for name in ("accessToken", "refreshToken", "deviceToken")]
    secrets += list(RefreshToken.objects.filter(session__user=alice).values_list("token_hash", flat=True))

    for path in ("/sessions", "/security-events"):
        response = clients[0].get(f"{AUTH}{path}")
        assert response.status_code == 200
        content = response.content.decode()
        leaked = [secret for secret in secrets if secret in content]
        assert leaked == [], f"{path} leaks {len(leaked)} secret(s)"


# --- GET /security-events ---------------------------------------------------------------------
def test_security_events_show_only_the_callers_events_newest_first(alice: User, charlie: User, client_for: ClientFor) -> None:
    alice_client, charlie_client = client_for(alice), client_for(charlie)
    assert charlie_client.post(f"{AUTH}/profile", {"name": "Chuck"}, format="json").status_code == 200
    assert alice_client.post(f"{AUTH}/profile", {"name": "Al"}, format="json").status_code == 200
    assert charlie_client.post(f"{AUTH}/profile", {"name": "Charles"}, format="json").status_code == 200

    response = alice_client.get(f"{AUTH}/security-events")

    assert response.status_code == 200
    events = response.json()  # a bare array (PLATFORM.md §1)
    shown = [event["id"] for event in events]
    assert set(shown) == set(SecurityEvent.objects.filter(user=alice).values_list("id", flat=True))
    assert set(shown).isdisjoint(SecurityEvent.objects.exclude(user=alice).values_list("id", flat=True))
    assert [event["eventType"] for event in events] == ["profile_updated", "login_success"]
    assert all(set(event) == {"id", "eventType", "ipAddress", "userAgent", "metadata", "createdAt"} for event in events)


def test_security_events_show_at_most_the_fifty_newest(alice: User, charlie: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    login_event = SecurityEvent.objects.get(user=alice, type="LOGIN_SUCCESS")
    now = timezone.now()
    older = [
        SecurityEvent.objects.create(user=alice, type="TEST_EVENT", metadata={"n": n}, created_at=now - timedelta(minutes=n)).id
        for n in range(1, 61)
    ]
    SecurityEvent.objects.create(user=charlie, type="TEST_EVENT", created_at=now + timedelta(minutes=5))

    events = client.get(f"{AUTH}/security-events").json()

    assert [event["id"] for event in events] == [login_event.id, *older[:49]]
    created = [event["createdAt"] for event in events]
    assert created == sorted(created, reverse=True)


def test_web_security_page_asks_for_a_limit_and_reads_lowercase_event_types(alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    now = timezone.now()
    for minutes, kind, metadata in (
        (3, "LOGIN_SUCCESS", {"method": "passkey"}),
        (2, "PASSKEY_REGISTERED", {}),
        (1, "TWO_FACTOR_ENABLED", {}),
    ):
        SecurityEvent.objects.create(user=alice, type=kind, metadata=metadata, created_at=now + timedelta(minutes=minutes))

    newest = client.get(f"{AUTH}/security-events?limit=3").json()

    assert [event["eventType"] for event in newest] == ["passkey_login_success", "passkey_registered", "two_factor_enabled"]
    assert [event["eventType"] for event in client.get(f"{AUTH}/security-events").json()][-1] == "login_success"
    for bad in ("0", "101", "many"):
        assert_error(client.get(f"{AUTH}/security-events?limit={bad}"), 400, "VALIDATION")


def test_web_security_page_lists_sessions_with_their_device_and_expiry(alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    Session.objects.filter(pk=session_id_of(client)).update(device_id="laptop-7", device_name="Alice's laptop")

    (session,) = client.get(f"{AUTH}/sessions").json()

    row = Session.objects.get(pk=session_id_of(client))
    assert (session["id"], session["deviceId"], session["deviceName"], session["current"]) == (row.id, "laptop-7", "Alice's laptop", True)
    assert session["expiresAt"][:19] == row.expires_at.isoformat()[:19]
    assert session["lastActivityAt"][:19] == row.last_seen_at.isoformat()[:19]


# --- POST /logout -----------------------------------------------------------------------------
def test_logout_with_bearer_revokes_that_session_only(api: APIClient, alice: User, client_for: ClientFor) -> None:
    leaving, staying = client_for(alice), client_for(alice)

    response = leaving.post(f"{AUTH}/logout")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert active_session_ids(alice) == {session_id_of(staying)}
    assert_error(leaving.get(f"{AUTH}/profile"), 401, "UNAUTHORIZED")
    assert_error(api.post(f"{AUTH}/refresh", {"refreshToken": tokens_of(leaving)["refreshToken"]}, format="json"), 401, "TOKEN_INVALID")
    assert profile_status(staying) == 200


def test_logout_with_a_refresh_token_revokes_its_session(api: APIClient, alice: User) -> None:
    tokens = sign_in(APIClient(), alice.email)

    response = api.post(f"{AUTH}/logout", {"refreshToken": tokens["refreshToken"]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert active_session_ids(alice) == set()
    assert_error(bearer(tokens["accessToken"]).get(f"{AUTH}/profile"), 401, "UNAUTHORIZED")
    assert SecurityEvent.objects.filter(user=alice, type="LOGOUT").count() == 1


def test_logout_with_neither_bearer_nor_refresh_token_is_unauthorized(api: APIClient, alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    assert_error(api.post(f"{AUTH}/logout", {}, format="json"), 401, "UNAUTHORIZED")
    assert_error(api.post(f"{AUTH}/logout"), 401, "UNAUTHORIZED")
    assert active_session_ids(alice) == {session_id_of(client)}


def test_logout_with_an_unknown_refresh_token_succeeds_and_revokes_nothing(api: APIClient, alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    response = api.post(f"{AUTH}/logout", {"refreshToken": "not-a-refresh-token"}, format="json")
    assert response.json() == {"success": True}
    assert active_session_ids(alice) == {session_id_of(client)}


# --- revocations that must not outlive a change -----------------------------------------------
def test_revoking_twice_succeeds_once_in_the_record(alice: User, client_for: ClientFor) -> None:
    first, second = client_for(alice), client_for(alice)
    target = session_id_of(second)
    assert first.delete(f"{AUTH}/sessions/{target}").status_code == 200
    assert first.delete(f"{AUTH}/sessions/{target}").status_code == 200
    assert SecurityEvent.objects.filter(type="SESSION_REVOKED", user=alice).count() == 1
    refresh_token = tokens_of(first)["refreshToken"]
    assert APIClient().post(f"{AUTH}/logout", {"refreshToken": refresh_token}, format="json").status_code == 200
    assert APIClient().post(f"{AUTH}/logout", {"refreshToken": refresh_token}, format="json").status_code == 200
    assert SecurityEvent.objects.filter(type="LOGOUT", user=alice).count() == 1
