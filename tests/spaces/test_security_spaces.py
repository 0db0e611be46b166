"""Attacks on spaces, invitations and API keys (issue 18: #9, #10, #11, #16, #17, and the tier)."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from spaces.models import ApiKey, Invitation, Membership, Space

pytestmark = pytest.mark.django_db

BASE = "/api/v1/spaces"
KEYS = "/api/v1/api-keys"


@pytest.fixture
def team(alice: User, bob: User, client_for) -> dict[str, Any]:
    """alice owns the team space; bob is a member."""
    owner = client_for(alice)
    space = owner.post(BASE, {"name": "Acme Team", "type": "team"}, format="json").json()["space"]
    member = Membership.objects.create(space_id=space["id"], user=bob, role="member")
    return {"id": space["id"], "owner": owner, "bob": client_for(bob), "bob_member_id": member.pk}


def key_validity(key: str) -> dict[str, Any]:
    return dict(APIClient().post(f"{KEYS}/validate", {"apiKey": key, "scope": "stt"}, format="json").json())


def bound_key(client: APIClient, space_id: str) -> str:
    created = client.post(KEYS, {"name": "speech", "spaceId": space_id}, format="json")
    assert created.status_code == 201
    return str(created.json()["key"])


# --- #9: an accepted invitation is spent -----------------------------------------------------------
def invite(team: dict[str, Any], email: str) -> Any:
    return team["owner"].post(f"{BASE}/{team['id']}/invitations", {"email": email}, format="json")


def test_attack_removed_member_cannot_rejoin_with_the_old_invitation(
    team, make_user, client_for, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invite(team, "erin@example.com").json()["invitation"]
    erin_user = make_user("erin@example.com")
    erin = client_for(erin_user)
    assert erin.post(f"{BASE}/invitations/{invitation['id']}/accept").status_code == 200
    member_id = Membership.objects.get(space_id=team["id"], user=erin_user).pk
    assert team["owner"].delete(f"{BASE}/{team['id']}/members/{member_id}").status_code == 200

    again = erin.post(f"{BASE}/invitations/{invitation['id']}/accept")
    assert (again.status_code, again.json()["error"]) == (404, "NOT_FOUND")
    organization_door = erin.post("/api/auth/organization/accept-invitation", {"invitationId": invitation["id"]}, format="json")
    assert organization_door.status_code == 404
    assert not Membership.objects.filter(space_id=team["id"], user=erin_user).exists()
    assert Invitation.objects.get(pk=invitation["id"]).status == "accepted"


# --- #10: a space-bound key ends with the membership ------------------------------------------------
def test_attack_space_bound_api_key_outlives_removal_from_the_space(team) -> None:
    key = bound_key(team["bob"], team["id"])
    unbound = team["bob"].post(KEYS, {"name": "mine"}, format="json").json()["key"]
    assert key_validity(key)["valid"] is True
    assert team["owner"].delete(f"{BASE}/{team['id']}/members/{team['bob_member_id']}").status_code == 200
    assert key_validity(key) == {"valid": False, "error": "revoked"}
    assert key_validity(unbound)["valid"] is True  # keys not bound to that space stay


def test_attack_space_bound_api_key_outlives_leaving_the_space(team, alice: User) -> None:
    key = bound_key(team["bob"], team["id"])
    owners_key = bound_key(team["owner"], team["id"])
    assert team["bob"].delete(f"{BASE}/{team['id']}/members/{team['bob_member_id']}").status_code == 200
    assert key_validity(key) == {"valid": False, "error": "revoked"}
    assert key_validity(owners_key)["valid"] is True  # only the leaver's keys end


def test_attack_space_bound_api_key_outlives_the_space(team) -> None:
    key = bound_key(team["bob"], team["id"])
    assert team["owner"].delete(f"{BASE}/{team['id']}").status_code == 200
    assert key_validity(key)["valid"] is False
    assert not ApiKey.objects.filter(space_id=team["id"]).exists()


# --- #11: invitation mail is throttled --------------------------------------------------------------
@pytest.mark.usefixtures("one_rate_window")
def test_attack_invitation_mail_bomb_to_one_address_is_throttled(team, django_capture_on_commit_callbacks) -> None:
    statuses = []
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(5):
            statuses.append(invite(team, "victim@example.com").status_code)
    assert statuses == [201, 201, 201, 429, 429]
    assert Invitation.objects.filter(email="victim@example.com").count() == 3
    # Another address is still open: the limit is the recipient's.
    assert invite(team, "other@example.com").status_code == 201


@pytest.mark.usefixtures("one_rate_window")
def test_attack_invitation_flood_from_one_space_is_throttled(team, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        statuses = [invite(team, f"p{n}@example.com").status_code for n in range(21)]
    assert statuses == [201] * 20 + [429]
    assert Invitation.objects.filter(space_id=team["id"]).count() == 20


# --- #16: the personal space's slug names no address ------------------------------------------------
def test_attack_slug_probe_reveals_no_registered_address(api: APIClient, client_for, make_user) -> None:
    registered = api.post("/api/v1/auth/register", {"email": "victim@example.com", "password": "a sturdy passphrase 42"}, format="json")
    assert registered.status_code == 201
    prober = client_for(make_user("prober@example.com"))
    probe = prober.post(BASE, {"name": "Probe", "type": "club", "slug": "victim"}, format="json")
    assert probe.status_code == 201  # the slug is free: nothing says the address has an account
    assert Space.objects.get(personal_owner__email="victim@example.com").slug.startswith("personal-")


# --- #17: scopes come from an allowlist ---------------------------------------------------------------
@pytest.mark.parametrize("scopes", [["admin"], ["stt", "internal"], ["*"]])
def test_attack_api_key_with_self_assigned_scope_is_refused(alice: User, client_for, scopes: list[str]) -> None:
    refused = client_for(alice).post(KEYS, {"name": "k", "scopes": scopes}, format="json")
    assert (refused.status_code, refused.json()["error"]) == (400, "VALIDATION")
    assert all(field.startswith("scopes") for field in refused.json()["fields"])
    assert not ApiKey.objects.exists()


def test_attack_api_key_cannot_use_a_scope_it_was_not_given(alice: User, client_for) -> None:
    key = client_for(alice).post(KEYS, {"name": "k", "scopes": ["tts"]}, format="json").json()["key"]
    answer = APIClient().post(f"{KEYS}/validate", {"apiKey": key, "scope": "stt"}, format="json").json()
    assert answer == {"valid": False, "error": "scope_denied"}


# --- also noticed: the tier is the operators' --------------------------------------------------------
def test_attack_member_sets_the_space_tier_through_the_space_update(team) -> None:
    Space.objects.filter(pk=team["id"]).update(metadata={"type": "team", "tier": "beta"})  # an operator's choice
    founder = {"metadata": {"type": "team", "tier": "founder", "landingPage": "x"}}
    patched = team["owner"].patch(f"{BASE}/{team['id']}", founder, format="json")
    assert patched.status_code == 200
    assert patched.json()["space"]["metadata"] == {"type": "team", "tier": "beta", "landingPage": "x"}
    put = team["owner"].put(f"/api/v1/auth/organizations/{team['id']}", {"metadata": {"type": "team", "tier": "founder"}}, format="json")
    assert put.status_code == 200
    assert Space.objects.get(pk=team["id"]).metadata == {"type": "team", "tier": "beta"}


def test_attack_member_creates_a_space_with_a_tier(alice: User, client_for) -> None:
    created = client_for(alice).post(BASE, {"name": "Club", "type": "club", "metadata": {"type": "club", "tier": "founder"}}, format="json")
    assert created.status_code == 201
    assert Space.objects.get(pk=created.json()["space"]["id"]).metadata == {"type": "club"}
    via_organizations = client_for(alice).post(
        "/api/auth/organization/create", {"name": "Club 2", "metadata": {"type": "club", "tier": "founder"}}, format="json"
    )
    assert via_organizations.status_code in (200, 201)
    assert "tier" not in Space.objects.get(pk=via_organizations.json()["id"]).metadata
