"""Who may call the account routes of /api/v1/auth, and how they refuse bad input, through HTTP
only (API.md §Accounts): anonymous callers, malformed tokens, trailing slashes, and the named bad
field of a validation error. Mail goes through the real notify stub on loopback."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.notify import NotifyStub
from tests.support import (
    AUTH,
    NEW_PASSWORD,
    PASSWORD,
    ClientFor,
    active_session_ids,
    assert_error,
    assert_validation,
    bearer,
    session_id_of,
)

pytestmark = pytest.mark.django_db


# --- anonymous callers ------------------------------------------------------------------------
BEARER_ROUTES = [
    pytest.param("get", "/profile", None, id="GET profile"),
    pytest.param("post", "/profile", {"name": "Mallory"}, id="POST profile"),
    pytest.param("post", "/change-email", {"newEmail": "m@example.com", "password": PASSWORD}, id="POST change-email"),
    pytest.param("post", "/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, id="POST change-password"),
    pytest.param("delete", "/account", {"password": PASSWORD}, id="DELETE account"),
    pytest.param("get", "/sessions", None, id="GET sessions"),
    pytest.param("delete", "/sessions/{alice_sid}", None, id="DELETE sessions-id"),
    pytest.param("get", "/security-events", None, id="GET security-events"),
]


def call(client: APIClient, method: str, path: str, body: dict[str, Any] | None) -> Any:
    if body is None:
        return getattr(client, method)(f"{AUTH}{path}")
    return getattr(client, method)(f"{AUTH}{path}", body, format="json")


@pytest.mark.parametrize(("method", "path", "body"), BEARER_ROUTES)
def test_bearer_routes_refuse_anonymous_callers(
    api: APIClient, alice: User, client_for: ClientFor, method: str, path: str, body: dict[str, Any] | None
) -> None:
    alice_client = client_for(alice)
    response = call(api, method, path.format(alice_sid=session_id_of(alice_client)), body)
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    alice.refresh_from_db()
    assert (alice.name, alice.check_password(PASSWORD)) == ("Alice", True)
    assert active_session_ids(alice) == {session_id_of(alice_client)}


@pytest.mark.parametrize(("method", "path", "body"), BEARER_ROUTES)
@pytest.mark.parametrize("token", ["garbage", "", "eyJhbGciOiJFZERTQSJ9.e30.c2ln"])
def test_bearer_routes_refuse_a_malformed_token(
    alice: User, client_for: ClientFor, method: str, path: str, body: dict[str, Any] | None, token: str
) -> None:
    alice_sid = session_id_of(client_for(alice))
    response = call(bearer(token), method, path.format(alice_sid=alice_sid), body)
    assert_error(response, 401, "UNAUTHORIZED")
    assert User.objects.filter(pk=alice.pk).exists()
    assert alice_sid in active_session_ids(alice)


# --- paths ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/signup-status/", "/profile/", "/sessions/", "/security-events/"])
def test_get_routes_accept_a_trailing_slash(alice: User, client_for: ClientFor, path: str) -> None:
    assert client_for(alice).get(f"{AUTH}{path}").status_code == 200


def test_session_revocation_accepts_a_trailing_slash(alice: User, client_for: ClientFor) -> None:
    current, other = client_for(alice), client_for(alice)
    assert current.delete(f"{AUTH}/sessions/{session_id_of(other)}/").status_code == 200
    assert active_session_ids(alice) == {session_id_of(current)}


# --- bad input --------------------------------------------------------------------------------
PUBLIC_BAD_INPUT = [
    pytest.param("/resend-verification", {}, "email", id="resend-verification missing email"),
    pytest.param("/resend-verification", {"email": "not-an-address"}, "email", id="resend-verification invalid email"),
    pytest.param("/forgot-password", {}, "email", id="forgot-password missing email"),
    pytest.param("/forgot-password", {"email": "alice@"}, "email", id="forgot-password invalid email"),
    pytest.param("/reset-password", {"newPassword": NEW_PASSWORD}, "token", id="reset-password missing token"),
    pytest.param("/reset-password", {"token": "abc"}, "newPassword", id="reset-password missing newPassword"),
    pytest.param("/confirm-email-change", {}, "token", id="confirm-email-change missing token"),
    pytest.param("/confirm-email-change", {"token": ""}, "token", id="confirm-email-change blank token"),
    pytest.param("/validate", {}, "token", id="validate missing token"),
    pytest.param("/logout", {"refreshToken": "x" * 201}, "refreshToken", id="logout overlong refreshToken"),
]


@pytest.mark.parametrize(("path", "body", "field"), PUBLIC_BAD_INPUT)
def test_public_routes_name_the_bad_field(api: APIClient, notify: NotifyStub, path: str, body: dict[str, Any], field: str) -> None:
    assert_validation(api.post(f"{AUTH}{path}", body, format="json"), field)
    assert notify.deliveries == []


BEARER_BAD_INPUT = [
    pytest.param("post", "/profile", {"image": "http://cdn.example.com/alice.png"}, "image", id="profile http image"),
    pytest.param("post", "/profile", {"image": "not a url"}, "image", id="profile non-url image"),
    pytest.param("post", "/profile", {"name": "x" * 201}, "name", id="profile overlong name"),
    pytest.param("post", "/change-email", {"password": PASSWORD}, "newEmail", id="change-email missing newEmail"),
    pytest.param("post", "/change-email", {"newEmail": "no-at-sign", "password": PASSWORD}, "newEmail", id="change-email invalid email"),
    pytest.param("post", "/change-password", {"newPassword": NEW_PASSWORD}, "currentPassword", id="change-password missing current"),
    pytest.param("post", "/change-password", {"currentPassword": PASSWORD}, "newPassword", id="change-password missing new"),
    pytest.param("delete", "/account", {}, "password", id="account missing password"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BEARER_BAD_INPUT)
def test_bearer_routes_name_the_bad_field(
    alice: User, client_for: ClientFor, notify: NotifyStub, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    client = client_for(alice)
    assert_validation(call(client, method, path, body), field)
    alice.refresh_from_db()
    assert (alice.email, alice.name, alice.image, alice.check_password(PASSWORD)) == ("alice@example.com", "Alice", "", True)
    assert active_session_ids(alice) == {session_id_of(client)}
    assert notify.deliveries == []
