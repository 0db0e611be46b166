"""The Better Auth organization API (PLATFORM.md §4), /api/v1/auth/organizations/{id} (§1) and the
sync service's memberships (§7), replayed as their callers send them: the web app with its session
cookie, the interceptor's Bearer and its Origin; the tool registry and the persona runner with a
Bearer only; the sync service with the service key."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts import jwt, session_cookie
from accounts.models import Session, User
from core.models import SecurityEvent
from spaces import services
from spaces.models import Invitation, Membership, Space
from tests.notify import NotifyStub
from tests.support import assert_error, sign_in

pytestmark = pytest.mark.django_db

ORG = "/api/auth/organization"
WEB_ORIGIN = "http://localhost:5173"  # a CORS origin: trusted for cookie requests


def session_of(tokens: dict[str, Any]) -> Session:
    return Session.objects.get(pk=jwt.decode_access_token(tokens["accessToken"])["sid"])


def signed_in(user: User, *, bearer: bool, cookie: bool, origin: str | None = WEB_ORIGIN) -> APIClient:
    client = APIClient()
    tokens = sign_in(client, user.email)
    client.cookies.clear()
    if cookie:
        client.cookies[session_cookie.cookie_name()] = session_cookie.session_cookie_bind(session_of(tokens))
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    if bearer:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {tokens['accessToken']}"
    client.credentials(**headers)
    client.tokens = tokens  # type: ignore[attr-defined]
    return client


def web(user: User) -> APIClient:
    """The web app: the session cookie plus the stored Bearer, from its own origin."""
    return signed_in(user, bearer=True, cookie=True)


def cookie_only(user: User, origin: str | None = WEB_ORIGIN) -> APIClient:
    return signed_in(user, bearer=False, cookie=True, origin=origin)


def tool(user: User) -> APIClient:
    """The tool registry and the persona runner: a Bearer, no cookie, no Origin."""
    return signed_in(user, bearer=True, cookie=False, origin=None)


def active_space_of(client: APIClient) -> str:
    return str(session_of(client.tokens).active_space_id)  # type: ignore[attr-defined]


@pytest.fixture
def people(make_user) -> dict[str, User]:
    """alice (tier beta) owns Acme, bob is a member, dave an admin; charlie is a stranger. Each has
    the personal space registration gives."""
    cast = {
        "alice": make_user("alice@example.com", name="Alice", tier="beta", image="https://img.example/alice.png"),
        "bob": make_user("bob@example.com", name="Bob"),
        "dave": make_user("dave@example.com", name="Dave"),
        "charlie": make_user("charlie@example.com", name="Charlie"),
    }
    for user in cast.values():
        services.personal_space_create(user=user)
    return cast


@pytest.fixture
def acme(people: dict[str, User]) -> Space:
    space = Space.objects.create(name="Acme", slug="acme", type="team", metadata={"type": "team"})
    for name, role in (("alice", "owner"), ("bob", "member"), ("dave", "admin")):
        Membership.objects.create(space=space, user=people[name], role=role)
    return space


# --- list, create, set-active, get-active-member -------------------------------------------------
def test_web_space_switcher_lists_spaces_with_exactly_one_personal(people, acme) -> None:
    response = web(people["alice"]).get(f"{ORG}/list")
    assert response.status_code == 200
    spaces = response.json()
    assert isinstance(spaces, list)
    assert all(set(space) == {"id", "name", "slug", "logo", "metadata", "createdAt", "role"} for space in spaces)
    [personal] = [space for space in spaces if space["metadata"]["type"] == "personal"]
    assert personal["metadata"] == {"type": "personal", "tier": "beta"}  # the user's tier
    assert (personal["role"], personal["logo"]) == ("owner", None)
    [team] = [space for space in spaces if space["id"] == acme.id]
    assert (team["metadata"], team["role"], team["slug"]) == ({"type": "team"}, "owner", "acme")
    assert [space["role"] for space in tool(people["bob"]).get(f"{ORG}/list").json() if space["id"] == acme.id] == ["member"]
    assert [space["metadata"]["type"] for space in tool(people["charlie"]).get(f"{ORG}/list").json()] == ["personal"]


def test_web_creates_a_space_that_becomes_active_and_is_the_same_space_in_v1(people) -> None:
    client = web(people["alice"])
    body = {"name": "Chess Club", "logo": "https://img.example/chess.png", "metadata": {"type": "club", "motto": "mate"}}
    response = client.post(f"{ORG}/create", body, format="json")
    assert response.status_code == 200, response.content
    created = response.json()
    assert (created["name"], created["slug"], created["logo"]) == ("Chess Club", "chess-club", "https://img.example/chess.png")
    assert created["metadata"] == {"type": "club", "motto": "mate"}
    [member] = created["members"]
    assert (member["userId"], member["role"], member["organizationId"]) == (people["alice"].id, "owner", created["id"])
    assert active_space_of(client) == created["id"]
    active = client.get(f"{ORG}/get-active-member").json()
    assert (active["organizationId"], active["role"], active["organization"]["slug"]) == (created["id"], "owner", "chess-club")
    # One rule, two doors: the API.md route sees the same space and role.
    [same] = [space for space in client.get("/api/v1/spaces").json()["spaces"] if space["id"] == created["id"]]
    assert (same["type"], same["role"]) == ("club", "owner")
    assert SecurityEvent.objects.filter(type="SPACE_CREATED", user=people["alice"]).count() == 1
    taken = client.post(f"{ORG}/create", {"name": "Other", "slug": "chess-club", "metadata": {"type": "club"}}, format="json")
    assert list(assert_error(taken, 400, "VALIDATION")["fields"]) == ["slug"]


@pytest.mark.parametrize("metadata", [{"type": "guild"}, {"type": "personal"}, {"motto": "no type"}, ["team"], "team", None])
def test_web_create_with_a_bad_type_is_space_metadata_invalid(people, metadata) -> None:
    client = web(people["alice"])
    body: dict[str, Any] = {"name": "Bad"} if metadata is None else {"name": "Bad", "metadata": metadata}
    assert_error(client.post(f"{ORG}/create", body, format="json"), 400, "SPACE_METADATA_INVALID")
    assert not Space.objects.filter(name="Bad").exists()
    assert active_space_of(client) == ""


def test_web_set_active_is_stored_on_the_session_for_later_requests(people, acme) -> None:
    alice = web(people["alice"])
    assert_error(alice.get(f"{ORG}/get-active-member"), 400, "NO_ACTIVE_ORGANIZATION")
    chosen = alice.post(f"{ORG}/set-active", {"organizationId": acme.id}, format="json")
    assert (chosen.status_code, chosen.json()["id"]) == (200, acme.id)
    assert active_space_of(alice) == acme.id
    # The same session by its cookie alone sees it; another sign-in of alice has its own choice.
    same_session = APIClient()
    same_session.cookies = alice.cookies
    active = same_session.get(f"{ORG}/get-active-member").json()
    assert set(active) == {"id", "organizationId", "userId", "role", "createdAt", "user", "organization"}
    assert active["user"] == {
        "id": people["alice"].id,
        "email": "alice@example.com",
        "name": "Alice",
        "image": "https://img.example/alice.png",
    }
    assert active["organization"] == {"id": acme.id, "slug": "acme", "name": "Acme", "metadata": {"type": "team"}}
    assert_error(tool(people["alice"]).get(f"{ORG}/get-active-member"), 400, "NO_ACTIVE_ORGANIZATION")

    assert alice.post(f"{ORG}/set-active", {"organizationId": None}, format="json").status_code == 200
    assert active_space_of(alice) == ""
    assert_error(alice.get(f"{ORG}/get-active-member"), 400, "NO_ACTIVE_ORGANIZATION")


def test_persona_runner_cannot_activate_a_space_it_is_not_in(people, acme) -> None:
    charlie = tool(people["charlie"])
    assert_error(charlie.post(f"{ORG}/set-active", {"organizationId": acme.id}, format="json"), 403, "FORBIDDEN")
    assert active_space_of(charlie) == ""


def test_a_space_left_since_is_no_longer_active(people, acme) -> None:
    bob = tool(people["bob"])
    bob.post(f"{ORG}/set-active", {"organizationId": acme.id}, format="json")
    Membership.objects.filter(space=acme, user=people["bob"]).delete()
    assert_error(bob.get(f"{ORG}/get-active-member"), 400, "NO_ACTIVE_ORGANIZATION")


# --- members --------------------------------------------------------------------------------------
def test_tool_registry_lists_members_of_a_named_or_the_active_space(people, acme) -> None:
    bob = tool(people["bob"])
    listed = bob.get(f"{ORG}/list-members", {"organizationId": acme.id})
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 3
    assert [(m["userId"], m["role"]) for m in body["members"]] == [
        (people["alice"].id, "owner"),
        (people["bob"].id, "member"),
        (people["dave"].id, "admin"),
    ]
    first = body["members"][0]
    assert set(first) == {"id", "organizationId", "userId", "role", "createdAt", "user"}
    assert first["organizationId"] == acme.id
    assert set(first["user"]) == {"id", "email", "name", "image"}
    assert_error(bob.get(f"{ORG}/list-members"), 400, "NO_ACTIVE_ORGANIZATION")
    bob.post(f"{ORG}/set-active", {"organizationId": acme.id}, format="json")
    assert bob.get(f"{ORG}/list-members").json() == body
    assert_error(tool(people["charlie"]).get(f"{ORG}/list-members", {"organizationId": acme.id}), 404, "NOT_FOUND")


@pytest.mark.parametrize("reference", ["user id", "member id", "email"])
def test_web_removes_a_member_named_by_user_id_member_id_or_email(people, acme, reference) -> None:
    bob = people["bob"]
    membership = Membership.objects.get(space=acme, user=bob)
    named = {"user id": bob.id, "member id": str(membership.pk), "email": "Bob@Example.com"}[reference]
    response = web(people["alice"]).post(f"{ORG}/remove-member", {"memberIdOrEmail": named, "organizationId": acme.id}, format="json")
    assert response.status_code == 200, response.content
    member = response.json()["member"]
    assert (member["id"], member["userId"], member["role"]) == (str(membership.pk), bob.id, "member")
    assert not Membership.objects.filter(space=acme, user=bob).exists()
    assert SecurityEvent.objects.filter(type="MEMBER_REMOVED").count() == 1


def test_remove_member_keeps_the_space_rules(people, acme) -> None:
    alice, bob, charlie = people["alice"], people["bob"], people["charlie"]
    remove = f"{ORG}/remove-member"
    assert_error(web(bob).post(remove, {"memberIdOrEmail": people["dave"].id, "organizationId": acme.id}, format="json"), 403, "FORBIDDEN")
    assert_error(web(alice).post(remove, {"memberIdOrEmail": alice.id, "organizationId": acme.id}, format="json"), 403, "FORBIDDEN")
    stranger = web(charlie).post(remove, {"memberIdOrEmail": bob.id, "organizationId": acme.id}, format="json")
    assert_error(stranger, 404, "NOT_FOUND")
    for unknown in (charlie.email, "9" * 40):
        not_a_member = web(alice).post(remove, {"memberIdOrEmail": unknown, "organizationId": acme.id}, format="json")
        assert_error(not_a_member, 404, "NOT_FOUND")
    personal = Space.objects.get(personal_owner=alice)
    assert_error(web(alice).post(remove, {"memberIdOrEmail": alice.id, "organizationId": personal.id}, format="json"), 403, "FORBIDDEN")
    assert Membership.objects.filter(space=acme).count() == 3
    assert_error(web(alice).post(remove, {"memberIdOrEmail": bob.id}, format="json"), 400, "VALIDATION")


# --- invitations ----------------------------------------------------------------------------------
def invite(client: APIClient, space: Space, email: str, capture, role: str = "member") -> dict[str, Any]:
    with capture(execute=True):
        response = client.post(f"{ORG}/invite-member", {"email": email, "role": role, "organizationId": space.id}, format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_web_invites_and_the_invitee_accepts_by_invitation_id(
    people, acme, make_user, notify: NotifyStub, settings, django_capture_on_commit_callbacks
) -> None:
    invitation = invite(web(people["dave"]), acme, "Erin@Example.com", django_capture_on_commit_callbacks, role="admin")
    assert set(invitation) == {"id", "email", "role", "status", "expiresAt", "organizationId", "inviterId", "createdAt"}
    assert (invitation["email"], invitation["role"], invitation["status"]) == ("erin@example.com", "admin", "pending")
    assert (invitation["organizationId"], invitation["inviterId"]) == (acme.id, people["dave"].id)
    [mail] = notify.to("erin@example.com")
    assert f"{settings.WEB_APP_URL}/accept-invitation?id={invitation['id']}" in mail.body["text"]
    assert [i["id"] for i in tool(people["bob"]).get(f"{ORG}/list-invitations", {"organizationId": acme.id}).json()] == [invitation["id"]]

    erin = web(make_user("erin@example.com", name="Erin"))
    seen = erin.get(f"{ORG}/get-invitation", {"id": invitation["id"]})
    assert seen.status_code == 200
    detail = seen.json()
    assert (detail["organizationName"], detail["organizationSlug"], detail["inviterEmail"]) == ("Acme", "acme", "dave@example.com")
    assert detail["organizationMetadata"] == {"type": "team"}
    for outsider in (people["charlie"], people["alice"]):  # even the inviting side: the route is the invitee's
        assert_error(web(outsider).get(f"{ORG}/get-invitation", {"id": invitation["id"]}), 404, "NOT_FOUND")
        assert_error(web(outsider).post(f"{ORG}/accept-invitation", {"invitationId": invitation["id"]}, format="json"), 404, "NOT_FOUND")

    accepted = erin.post(f"{ORG}/accept-invitation", {"invitationId": invitation["id"]}, format="json")
    assert accepted.status_code == 200, accepted.content
    answer = accepted.json()
    assert (answer["invitation"]["id"], answer["invitation"]["status"]) == (invitation["id"], "accepted")
    assert (answer["member"]["organizationId"], answer["member"]["role"], answer["member"]["user"]["email"]) == (
        acme.id,
        "admin",
        "erin@example.com",
    )
    again = erin.post(f"{ORG}/accept-invitation", {"invitationId": invitation["id"]}, format="json")
    assert again.json()["member"]["id"] == answer["member"]["id"]  # twice: a no-op
    assert Membership.objects.filter(space=acme, user__email="erin@example.com", role="admin").count() == 1


def test_an_unverified_invitee_cannot_see_or_accept(people, acme, make_user, django_capture_on_commit_callbacks) -> None:
    invitation = invite(web(people["alice"]), acme, "frank@example.com", django_capture_on_commit_callbacks)
    frank = make_user("frank@example.com")
    client = web(frank)
    User.objects.filter(pk=frank.pk).update(email_verified=False)
    assert_error(client.get(f"{ORG}/get-invitation", {"id": invitation["id"]}), 404, "NOT_FOUND")
    assert_error(client.post(f"{ORG}/accept-invitation", {"invitationId": invitation["id"]}, format="json"), 404, "NOT_FOUND")
    assert not Membership.objects.filter(space=acme, user=frank).exists()


def test_the_invitee_rejects_and_cannot_accept_afterwards(people, acme, make_user, django_capture_on_commit_callbacks) -> None:
    invitation = invite(web(people["alice"]), acme, "gina@example.com", django_capture_on_commit_callbacks)
    gina = web(make_user("gina@example.com"))
    rejected = gina.post(f"{ORG}/reject-invitation", {"invitationId": invitation["id"]}, format="json")
    assert rejected.status_code == 200
    assert (rejected.json()["invitation"]["status"], rejected.json()["member"]) == ("rejected", None)
    assert Invitation.objects.get(pk=invitation["id"]).status == "rejected"
    assert_error(gina.post(f"{ORG}/accept-invitation", {"invitationId": invitation["id"]}, format="json"), 404, "NOT_FOUND")
    assert not Membership.objects.filter(space=acme, user__email="gina@example.com").exists()


def test_an_admin_cancels_an_invitation_and_it_can_no_longer_be_accepted(
    people, acme, make_user, django_capture_on_commit_callbacks
) -> None:
    invitation = invite(web(people["alice"]), acme, "hank@example.com", django_capture_on_commit_callbacks)
    cancel = {"invitationId": invitation["id"]}
    assert_error(web(people["bob"]).post(f"{ORG}/cancel-invitation", cancel, format="json"), 403, "FORBIDDEN")
    assert_error(web(people["charlie"]).post(f"{ORG}/cancel-invitation", cancel, format="json"), 404, "NOT_FOUND")
    assert Invitation.objects.get(pk=invitation["id"]).status == "pending"
    canceled = web(people["dave"]).post(f"{ORG}/cancel-invitation", cancel, format="json")
    assert (canceled.status_code, canceled.json()["id"], canceled.json()["status"]) == (200, invitation["id"], "canceled")
    hank = web(make_user("hank@example.com"))
    assert_error(hank.post(f"{ORG}/accept-invitation", cancel, format="json"), 404, "NOT_FOUND")
    # The mailed link's route refuses it too: one rule behind both doors.
    assert_error(hank.post(f"/api/v1/spaces/invitations/{invitation['id']}/accept"), 404, "NOT_FOUND")
    assert [i["status"] for i in web(people["alice"]).get(f"{ORG}/list-invitations", {"organizationId": acme.id}).json()] == ["canceled"]


def test_invite_member_keeps_the_space_rules(people, acme, django_capture_on_commit_callbacks) -> None:
    body = {"email": "x@example.com", "role": "member", "organizationId": acme.id}
    with django_capture_on_commit_callbacks(execute=False):
        assert_error(web(people["bob"]).post(f"{ORG}/invite-member", body, format="json"), 403, "FORBIDDEN")
        assert_error(web(people["charlie"]).post(f"{ORG}/invite-member", body, format="json"), 404, "NOT_FOUND")
        assert_error(web(people["dave"]).post(f"{ORG}/invite-member", body | {"role": "owner"}, format="json"), 403, "FORBIDDEN")
    assert_error(web(people["charlie"]).get(f"{ORG}/list-invitations", {"organizationId": acme.id}), 404, "NOT_FOUND")
    assert not Invitation.objects.exists()


# --- the cookie door ------------------------------------------------------------------------------
@pytest.mark.parametrize("origin", [None, "https://evil.example"])
def test_a_cookie_post_without_a_trusted_origin_is_refused_and_changes_nothing(people, acme, origin) -> None:
    client = cookie_only(people["alice"], origin=origin)
    assert_error(client.post(f"{ORG}/set-active", {"organizationId": acme.id}, format="json"), 403, "FORBIDDEN")
    assert_error(client.post(f"{ORG}/create", {"name": "Sneaky", "metadata": {"type": "team"}}, format="json"), 403, "FORBIDDEN")
    assert_error(
        client.post(f"{ORG}/remove-member", {"memberIdOrEmail": people["bob"].id, "organizationId": acme.id}, format="json"),
        403,
        "FORBIDDEN",
    )
    assert active_space_of(client) == ""
    assert not Space.objects.filter(name="Sneaky").exists()
    assert Membership.objects.filter(space=acme).count() == 3
    assert client.get(f"{ORG}/list").status_code == 200  # a GET changes nothing and needs no Origin


def test_web_with_an_expired_bearer_is_carried_by_its_cookie(people, acme) -> None:
    client = cookie_only(people["alice"])
    client.credentials(HTTP_ORIGIN=WEB_ORIGIN, HTTP_AUTHORIZATION="Bearer not-a-valid-token")
    assert client.post(f"{ORG}/set-active", {"organizationId": acme.id}, format="json").status_code == 200
    assert client.get(f"{ORG}/get-active-member").json()["organizationId"] == acme.id


def test_anonymous_is_401_on_every_organization_route(acme) -> None:
    anonymous = APIClient()
    gets = ["list", "get-active-member", "list-members", "list-invitations", f"get-invitation?id={acme.id}"]
    posts = ["create", "set-active", "invite-member", "accept-invitation", "reject-invitation", "cancel-invitation", "remove-member"]
    responses = [anonymous.get(f"{ORG}/{path}") for path in gets] + [anonymous.post(f"{ORG}/{path}", {}, format="json") for path in posts]
    responses.append(anonymous.get(f"/api/v1/auth/organizations/{acme.id}"))
    assert [(r.status_code, r.json()["error"]) for r in responses] == [(401, "UNAUTHORIZED")] * len(responses)


# --- /api/v1/auth/organizations/{id} ----------------------------------------------------------------
def test_web_settings_reads_and_replaces_the_metadata_of_a_space(people, acme) -> None:
    url = f"/api/v1/auth/organizations/{acme.id}"
    read = tool(people["bob"]).get(url)
    assert read.status_code == 200
    assert read.json() == {
        "id": acme.id,
        "name": "Acme",
        "slug": "acme",
        "logo": None,
        "metadata": {"type": "team"},
        "createdAt": read.json()["createdAt"],
    }
    replaced = tool(people["dave"]).put(url, {"metadata": {"type": "team", "landingPage": "/todo"}}, format="json")
    assert (replaced.status_code, replaced.json()["metadata"]) == (200, {"type": "team", "landingPage": "/todo"})
    kept = tool(people["alice"]).put(url, {"metadata": {"landingPage": "/calendar"}}, format="json")
    assert kept.json()["metadata"] == {"type": "team", "landingPage": "/calendar"}  # the type is fixed, and kept
    Space.objects.filter(pk=acme.id).update(metadata={"type": "team", "landingPage": "/calendar"})
    assert_error(tool(people["alice"]).put(url, {"metadata": {"type": "club"}}, format="json"), 400, "SPACE_METADATA_INVALID")
    assert_error(tool(people["bob"]).put(url, {"metadata": {"type": "team"}}, format="json"), 403, "FORBIDDEN")
    assert_error(tool(people["charlie"]).get(url), 404, "NOT_FOUND")
    assert_error(tool(people["charlie"]).put(url, {"metadata": {"type": "team"}}, format="json"), 404, "NOT_FOUND")
    assert Space.objects.get(pk=acme.id).metadata == {"type": "team", "landingPage": "/calendar"}


def test_web_settings_reads_a_personal_space_with_the_users_tier(people) -> None:
    personal = Space.objects.get(personal_owner=people["alice"])
    assert tool(people["alice"]).get(f"/api/v1/auth/organizations/{personal.id}").json()["metadata"] == {"type": "personal", "tier": "beta"}


# --- the sync service -------------------------------------------------------------------------------
def test_sync_service_reads_memberships_with_organization_id_and_the_personal_space(people, acme, settings) -> None:
    settings.MANA_SERVICE_KEY = "sync-service-key"
    internal = APIClient()
    assert internal.get(f"/api/v1/internal/users/{people['bob'].id}/memberships").status_code == 401
    internal.credentials(HTTP_X_SERVICE_KEY="sync-service-key")
    body = internal.get(f"/api/v1/internal/users/{people['bob'].id}/memberships").json()
    personal = Space.objects.get(personal_owner=people["bob"])
    assert body["userId"] == people["bob"].id
    assert sorted((m["organizationId"], m["role"]) for m in body["memberships"]) == sorted([(personal.id, "owner"), (acme.id, "member")])
    assert all(m["spaceId"] == m["organizationId"] for m in body["memberships"])
    assert internal.get(f"/api/v1/internal/org/{acme.id}/member/{people['dave'].id}").json() == {"isMember": True, "role": "admin"}
    assert internal.get(f"/api/v1/internal/org/{acme.id}/member/{people['charlie'].id}").json() == {"isMember": False, "role": None}
