import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.tokens import session_start
from core.models import SecurityEvent
from core.origin import NO_ORIGIN
from core.secrets import token_hash
from spaces import services
from spaces.models import Invitation, Membership, Space
from spaces.modules import ALLOWLIST, SPACE_TYPES
from tests.notify import NotifyStub
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

BASE = "/api/v1/spaces"


def register(api: APIClient, email: str, n: int = 0, name: str = "") -> Any:
    body = {"email": email, "password": "a sturdy passphrase 42", "name": name}
    return api.post("/api/v1/auth/register", body, format="json", REMOTE_ADDR=f"10.1.{n // 250}.{n % 250 + 1}")


@pytest.fixture
def team(alice: User, bob: User, make_user, client_for) -> dict[str, Any]:
    """alice owns the team space, dave administers it, bob is a member; charlie is a stranger."""
    dave = make_user("dave@example.com", name="Dave")
    owner = client_for(alice)
    space = owner.post(BASE, {"name": "Acme Team", "type": "team"}, format="json").json()["space"]
    for user, role in ((bob, "member"), (dave, "admin")):
        Membership.objects.create(space_id=space["id"], user=user, role=role)
    members = {m["userId"]: m["id"] for m in owner.get(f"{BASE}/{space['id']}/members").json()["members"]}
    return {"space": space, "members": members, "dave": dave}


def test_the_allowlist_is_well_formed() -> None:
    """The module allowlist is data the project owns (spaces/modules.json): every type has an entry,
    personal allows everything, and every other type lists distinct, lower-case module slugs."""
    assert SPACE_TYPES[0] == "personal"
    assert len(set(SPACE_TYPES)) == len(SPACE_TYPES)
    assert list(ALLOWLIST) == list(SPACE_TYPES)
    assert ALLOWLIST["personal"] == "*"
    for space_type in SPACE_TYPES[1:]:
        modules = ALLOWLIST[space_type]
        assert modules != "*", space_type
        assert modules, space_type
        assert len(set(modules)) == len(modules), space_type
        assert all(re.fullmatch(r"[a-z][a-z0-9-]*", module) for module in modules), space_type
    assert "mana" in ALLOWLIST["team"]


def test_types_route(alice: User, client_for) -> None:
    types = client_for(alice).get(f"{BASE}/types").json()["types"]
    assert [t["type"] for t in types] == list(SPACE_TYPES)
    assert types[0] == {"type": "personal", "modules": ["*"]}
    assert "club-finance" in next(t for t in types if t["type"] == "club")["modules"]


def test_registration_creates_exactly_one_personal_space(api: APIClient) -> None:
    user = register(api, "Nora.Smith+test@example.com", name="Nora").json()["user"]
    [space] = Space.objects.filter(memberships__user_id=user["id"])
    assert (space.type, space.name, space.personal_owner_id) == ("personal", "Nora", user["id"])
    assert re.fullmatch(r"personal-[0-9a-f]{12}", space.slug)  # nothing of the address in it
    assert Membership.objects.get(space=space).role == "owner"
    assert space.metadata == {"type": "personal"}


def test_fifty_anna_registrations_get_fifty_distinct_slugs_naming_no_address(api: APIClient) -> None:
    for n in range(50):
        assert register(api, f"anna@host{n}.example", n).status_code == 201
    slugs = set(Space.objects.filter(type="personal").values_list("slug", flat=True))
    assert len(slugs) == 50
    assert not any("anna" in slug for slug in slugs)


def test_slug_rules() -> None:
    assert services.slug_base("Jean--Luc.Picard_") == "jean-luc-picard"
    assert services.slug_base("x" * 40) == "x" * 30
    assert services.slug_base("ü").startswith("user-")
    assert len(services.slug_base("+++")) == len("user-") + 6


def test_a_registration_whose_space_fails_leaves_no_user(api: APIClient, monkeypatch) -> None:
    def failing_insert(space: Space, base: str) -> Space:
        raise IntegrityError("simulated failure of the personal space insert")

    monkeypatch.setattr(services, "_insert_with_free_slug", failing_insert)
    response = register(api, "doomed@example.com")
    assert response.status_code == 503
    assert not User.objects.filter(email="doomed@example.com").exists()
    assert not Space.objects.exists()


def test_create_space_and_reject_bad_types_and_metadata(alice: User, client_for) -> None:
    owner = client_for(alice)
    created = owner.post(BASE, {"name": "Chess Club", "type": "club", "metadata": {"type": "club", "tier": "beta"}}, format="json")
    assert created.status_code == 201
    space = created.json()["space"]
    assert set(space) == {"id", "name", "slug", "type", "metadata", "role", "createdAt"}
    # The tier is the operators' to set: a member's is dropped.
    assert (space["slug"], space["role"], space["metadata"]) == ("chess-club", "owner", {"type": "club"})
    assert SecurityEvent.objects.filter(type="SPACE_CREATED", user=alice).count() == 1
    assert owner.get(f"{BASE}/{space['id']}/modules/club-finance").json() == {"allowed": True}
    assert owner.get(f"{BASE}/{space['id']}/modules/dreams").json() == {"allowed": False}

    personal = owner.post(BASE, {"name": "Mine", "type": "personal"}, format="json")
    assert personal.status_code == 400
    assert personal.json()["error"] == "VALIDATION"
    assert list(personal.json()["fields"]) == ["type"]
    unknown = owner.post(BASE, {"name": "X", "type": "guild"}, format="json")
    assert (unknown.status_code, list(unknown.json()["fields"])) == (400, ["type"])
    for metadata in (["not", "an", "object"], "text", {"tier": "beta"}, {"type": "team"}):
        bad = owner.post(BASE, {"name": "X", "type": "club", "metadata": metadata}, format="json")
        assert bad.status_code == 400
        assert bad.json()["error"] == "SPACE_METADATA_INVALID"
    taken = owner.post(BASE, {"name": "Other", "type": "club", "slug": "chess-club"}, format="json")
    assert list(taken.json()["fields"]) == ["slug"]
    assert Space.objects.filter(type="club").count() == 1


def test_the_type_of_a_space_cannot_change(alice: User, client_for, team) -> None:
    owner = client_for(alice)
    changed = owner.patch(f"{BASE}/{team['space']['id']}", {"type": "club"}, format="json")
    assert changed.json()["error"] == "SPACE_METADATA_INVALID"
    sneaky = owner.patch(f"{BASE}/{team['space']['id']}", {"metadata": {"type": "club"}}, format="json")
    assert sneaky.json()["error"] == "SPACE_METADATA_INVALID"
    assert Space.objects.get(pk=team["space"]["id"]).type == "team"


def test_a_stranger_gets_404_on_every_route(alice: User, charlie: User, client_for, team) -> None:
    stranger = client_for(charlie)
    space_id, bob_member = team["space"]["id"], next(iter(team["members"].values()))
    calls = [
        stranger.get(f"{BASE}/{space_id}"),
        stranger.patch(f"{BASE}/{space_id}", {"name": "Mine now"}, format="json"),
        stranger.delete(f"{BASE}/{space_id}"),
        stranger.get(f"{BASE}/{space_id}/members"),
        stranger.post(f"{BASE}/{space_id}/invitations", {"email": "x@example.com", "role": "member"}, format="json"),
        stranger.patch(f"{BASE}/{space_id}/members/{bob_member}", {"role": "owner"}, format="json"),
        stranger.delete(f"{BASE}/{space_id}/members/{bob_member}"),
        stranger.get(f"{BASE}/{space_id}/modules/notes"),
        stranger.post("/api/v1/api-keys", {"name": "k", "spaceId": space_id}, format="json"),
    ]
    assert [c.status_code for c in calls] == [404] * len(calls)
    assert {c.json()["error"] for c in calls} == {"NOT_FOUND"}
    assert Space.objects.get(pk=space_id).name == "Acme Team"
    assert Membership.objects.filter(space_id=space_id).count() == 3
    assert stranger.get(BASE).json() == {"spaces": []}


@pytest.mark.parametrize(
    ("actor", "action", "allowed"),
    [
        ("alice", "update", True), ("dave", "update", True), ("bob", "update", False),
        ("alice", "invite", True), ("dave", "invite", True), ("bob", "invite", False),
        ("alice", "change_role", True), ("dave", "change_role", False), ("bob", "change_role", False),
        ("alice", "remove_member", True), ("dave", "remove_member", True), ("bob", "remove_member", False),
        ("dave", "remove_owner", False), ("bob", "remove_owner", False),
        ("alice", "delete", True), ("dave", "delete", False), ("bob", "delete", False),
        ("alice", "read", True), ("dave", "read", True), ("bob", "read", True),
    ],
)  # fmt: skip
def test_roles(
    actor: str, action: str, allowed: bool, alice: User, bob: User, client_for, team, django_capture_on_commit_callbacks
) -> None:
    users = {"alice": alice, "bob": bob, "dave": team["dave"]}
    client = client_for(users[actor])
    space_id = team["space"]["id"]
    target = team["members"][bob.id] if actor != "bob" else team["members"][team["dave"].id]
    requests = {
        "update": lambda: client.patch(f"{BASE}/{space_id}", {"name": "Renamed"}, format="json"),
        "invite": lambda: client.post(f"{BASE}/{space_id}/invitations", {"email": "new@example.com", "role": "member"}, format="json"),
        "change_role": lambda: client.patch(f"{BASE}/{space_id}/members/{target}", {"role": "admin"}, format="json"),
        "remove_member": lambda: client.delete(f"{BASE}/{space_id}/members/{target}"),
        "remove_owner": lambda: client.delete(f"{BASE}/{space_id}/members/{team['members'][alice.id]}"),
        "delete": lambda: client.delete(f"{BASE}/{space_id}"),
        "read": lambda: client.get(f"{BASE}/{space_id}/members"),
    }
    with django_capture_on_commit_callbacks(execute=False):
        response = requests[action]()
    if allowed:
        assert response.status_code in (200, 201), response.content
    else:
        assert response.status_code == 403
        assert response.json()["error"] == "FORBIDDEN"


def test_the_last_owner_can_neither_leave_nor_be_demoted(alice: User, client_for, team) -> None:
    owner = client_for(alice)
    space_id, alice_member = team["space"]["id"], team["members"][alice.id]
    assert owner.delete(f"{BASE}/{space_id}/members/{alice_member}").json()["error"] == "FORBIDDEN"
    assert owner.patch(f"{BASE}/{space_id}/members/{alice_member}", {"role": "member"}, format="json").json()["error"] == "FORBIDDEN"
    promoted = owner.patch(f"{BASE}/{space_id}/members/{team['members'][team['dave'].id]}", {"role": "owner"}, format="json")
    assert promoted.json()["member"]["role"] == "owner"
    assert owner.delete(f"{BASE}/{space_id}/members/{alice_member}").status_code == 200  # now she may leave
    assert SecurityEvent.objects.filter(type__in=["ROLE_CHANGED", "MEMBER_REMOVED"]).count() == 2


def test_a_member_may_leave(bob: User, client_for, team) -> None:
    assert client_for(bob).delete(f"{BASE}/{team['space']['id']}/members/{team['members'][bob.id]}").status_code == 200
    assert not Membership.objects.filter(user=bob, space_id=team["space"]["id"]).exists()


def test_the_personal_space_cannot_be_deleted_left_or_shared(api: APIClient, client_for) -> None:
    register(api, "solo@example.com")
    user = User.objects.get(email="solo@example.com")
    User.objects.filter(pk=user.pk).update(email_verified=True)
    client = client_for(user, "a sturdy passphrase 42")
    space = Space.objects.get(personal_owner=user)
    member_id = Membership.objects.get(space=space).pk
    deleted = client.delete(f"{BASE}/{space.id}")
    assert (deleted.status_code, deleted.json()["error"]) == (403, "SPACE_PERSONAL_UNDELETABLE")
    assert client.delete(f"{BASE}/{space.id}/members/{member_id}").json()["error"] == "FORBIDDEN"
    assert (
        client.post(f"{BASE}/{space.id}/invitations", {"email": "friend@example.com", "role": "member"}, format="json").json()["error"]
        == "FORBIDDEN"
    )
    assert client.get(f"{BASE}/{space.id}/modules/anything").json() == {"allowed": True}


def test_invitation_flow(alice: User, client_for, team, make_user, notify: NotifyStub, django_capture_on_commit_callbacks) -> None:
    space_id = team["space"]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        created = client_for(alice).post(f"{BASE}/{space_id}/invitations", {"email": "Erin@Example.com", "role": "admin"}, format="json")
    assert created.status_code == 201
    invitation = created.json()["invitation"]
    assert (invitation["email"], invitation["role"], invitation["status"]) == ("erin@example.com", "admin", "pending")
    [mail] = notify.to("erin@example.com")
    token = mail.body["text"].split("accept-invitation?id=")[1].split()[0]
    assert token == invitation["id"]  # the web app's page takes the invitation id (PLATFORM.md §4)
    assert "http://localhost:5173/accept-invitation?id=" in mail.body["text"]

    wrong_person = client_for(make_user("mallory@example.com")).post(f"{BASE}/invitations/{token}/accept")
    assert wrong_person.status_code == 404
    unverified = make_user("erin@example.com", verified=False)
    assert client_for_unverified(unverified).post(f"{BASE}/invitations/{token}/accept").status_code == 404
    User.objects.filter(pk=unverified.pk).update(email_verified=True)
    erin = client_for(unverified)
    joined = erin.post(f"{BASE}/invitations/{token}/accept")
    assert joined.status_code == 200
    assert joined.json()["space"]["id"] == space_id
    assert joined.json()["space"]["role"] == "admin"
    assert erin.post(f"{BASE}/invitations/{token}/accept").status_code == 200  # twice: no-op
    assert Membership.objects.filter(space_id=space_id, user=unverified).count() == 1
    assert SecurityEvent.objects.filter(type__in=["MEMBER_INVITED", "MEMBER_JOINED"]).count() == 2


def client_for_unverified(user: User) -> APIClient:
    """Unverified users cannot sign in with a password; give them a session directly."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session_start(user=user, origin=NO_ORIGIN, method='test').access_token}")
    return client


def test_an_expired_invitation(alice: User, client_for, team, make_user) -> None:
    invitation = services.invitation_create(
        actor=alice, space_id=team["space"]["id"], email="late@example.com", role="member", origin=NO_ORIGIN
    )
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=invitation.created_at - timedelta(seconds=1))
    late = client_for(make_user("late@example.com")).post(f"{BASE}/invitations/{invitation.id}/accept")
    assert (late.status_code, late.json()["error"]) == (401, "TOKEN_EXPIRED")


def test_a_link_mailed_with_a_token_still_works(alice: User, client_for, team, make_user) -> None:
    """Invitations mailed before links carried the id carry a token, of which only the hash is kept."""
    invitation = services.invitation_create(
        actor=alice, space_id=team["space"]["id"], email="old@example.com", role="member", origin=NO_ORIGIN
    )
    Invitation.objects.filter(pk=invitation.pk).update(token_hash=token_hash("an-old-link-token"))
    joined = client_for(make_user("old@example.com")).post(f"{BASE}/invitations/an-old-link-token/accept")
    assert (joined.status_code, joined.json()["space"]["id"]) == (200, team["space"]["id"])
    assert Invitation.objects.get(pk=invitation.pk).status == "accepted"


def test_deleting_a_user_removes_their_memberships_and_personal_space(api: APIClient, make_user, client_for) -> None:
    register(api, "leaver@example.com")
    leaver = User.objects.get(email="leaver@example.com")
    User.objects.filter(pk=leaver.pk).update(email_verified=True)
    personal_id = Space.objects.get(personal_owner=leaver).pk
    client = client_for(leaver, "a sturdy passphrase 42")
    co_owner = make_user("coowner@example.com")
    shared = client.post(BASE, {"name": "Shared", "type": "family"}, format="json").json()["space"]
    Membership.objects.create(space_id=shared["id"], user=co_owner, role="owner")
    alone = client.post(BASE, {"name": "Alone", "type": "brand"}, format="json").json()["space"]

    assert client.delete("/api/v1/auth/account", {"password": "a sturdy passphrase 42"}, format="json").status_code == 200
    assert not Membership.objects.filter(user_id=leaver.id).exists()
    assert not Space.objects.filter(pk=personal_id).exists()
    assert not Space.objects.filter(pk=alone["id"]).exists()
    assert list(Membership.objects.filter(space_id=shared["id"]).values_list("user_id", "role")) == [(co_owner.id, "owner")]


def test_the_last_owner_of_a_shared_space_cannot_delete_their_account(alice: User, client_for, team) -> None:
    refused = client_for(alice).delete("/api/v1/auth/account", {"password": PASSWORD}, format="json")
    assert (refused.status_code, refused.json()["error"]) == (403, "FORBIDDEN")
    assert "Acme Team" in refused.json()["message"]
    assert User.objects.filter(pk=alice.pk).exists()


def test_internal_membership_lookups(alice: User, bob: User, charlie: User, team, settings, django_assert_num_queries) -> None:
    settings.MANA_SERVICE_KEY = "spaces-service-key"
    space_id = team["space"]["id"]
    internal = APIClient()
    for headers in ({}, {"X-Service-Key": "wrong"}):
        assert internal.get(f"/api/v1/internal/org/{space_id}/member/{bob.id}", headers=headers).status_code == 401
        assert internal.get(f"/api/v1/internal/users/{bob.id}/memberships", headers=headers).status_code == 401
    internal.credentials(HTTP_X_SERVICE_KEY="spaces-service-key")
    with django_assert_num_queries(1):  # one indexed lookup, no session, no user load
        assert internal.get(f"/api/v1/internal/org/{space_id}/member/{bob.id}").json() == {"isMember": True, "role": "member"}
    with django_assert_num_queries(1):
        internal.get(f"/api/v1/internal/users/{bob.id}/memberships")
    assert internal.get(f"/api/v1/internal/org/{space_id}/member/{charlie.id}").json() == {"isMember": False, "role": None}
    assert internal.get(f"/api/v1/internal/users/{alice.id}/memberships").json() == {
        "userId": alice.id,
        "memberships": [{"organizationId": space_id, "spaceId": space_id, "role": "owner"}],
    }


def test_anonymous_is_401_on_spaces() -> None:
    for response in (
        APIClient().get(BASE),
        APIClient().post(BASE, {"name": "x", "type": "team"}, format="json"),
        APIClient().get(f"{BASE}/types"),
    ):
        assert (response.status_code, response.json()["error"]) == (401, "UNAUTHORIZED")
