"""The token routes of /api/v1/auth, through HTTP only (API.md §Accounts): exchanging a Django
session for a token pair, and validating an access token for other services."""

import pytest
from pytest_django import Settings
from rest_framework.test import APIClient

from accounts.browser_session import SESSION_LINK
from accounts.models import Session, User
from accounts.session_cookie import cookie_name
from tests.support import AUTH, PASSWORD, ClientFor, assert_error, bearer, session_id_of, tokens_of

pytestmark = pytest.mark.django_db


# --- POST /session-to-token -------------------------------------------------------------------
def _page_signed_in(browser: APIClient, user: User) -> Session:
    """Signed in through this service's login page, with only its Django session kept (not the
    platform's cookie): the session-to-token path of the pages."""
    assert browser.post("/login", {"email": user.email, "password": PASSWORD}).status_code == 302
    browser.cookies.pop(cookie_name(), None)
    return Session.objects.get(user=user, revoked_at__isnull=True)


def test_a_bearer_token_is_no_django_session_for_session_to_token(api: APIClient, alice: User, client_for: ClientFor) -> None:
    assert_error(api.post(f"{AUTH}/session-to-token"), 401, "UNAUTHORIZED")
    assert_error(client_for(alice).post(f"{AUTH}/session-to-token"), 401, "UNAUTHORIZED")
    assert not Session.objects.filter(method="browser_session").exists()


def test_session_to_token_exchanges_a_django_session_for_a_working_token_pair(api: APIClient, alice: User) -> None:
    browser = APIClient()
    signed_in = _page_signed_in(browser, alice)

    response = browser.post(f"{AUTH}/session-to-token")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken", "tokenType", "expiresIn", "user"}  # PLATFORM.md §1: the user too
    assert body["user"]["id"] == alice.id
    assert (body["tokenType"], body["expiresIn"]) == ("Bearer", 900)
    assert response.headers["Cache-Control"] == "no-store"
    session = Session.objects.get(user=alice)  # the tokens belong to the page's own sign-in
    assert (session.id, session.revoked_at) == (signed_in.id, None)
    profile = bearer(body["accessToken"]).get(f"{AUTH}/profile")
    assert profile.status_code == 200
    assert profile.json()["id"] == alice.id
    assert api.post(f"{AUTH}/refresh", {"refreshToken": body["refreshToken"]}, format="json").status_code == 200


def test_session_to_token_refuses_a_post_without_the_csrf_token(alice: User) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    signed_in = _page_signed_in(APIClient(), alice)
    browser.force_login(alice)
    django_session = browser.session
    django_session[SESSION_LINK] = signed_in.id
    django_session.save()
    minted = signed_in.refresh_tokens.count()

    assert_error(browser.post(f"{AUTH}/session-to-token"), 403, "FORBIDDEN")
    assert signed_in.refresh_tokens.count() == minted

    secret = "a" * 32
    browser.cookies["csrftoken"] = secret
    assert browser.post(f"{AUTH}/session-to-token", HTTP_X_CSRFTOKEN=secret).status_code == 200


# --- POST /validate ---------------------------------------------------------------------------
def test_validate_accepts_a_live_token_and_returns_its_claims(
    api: APIClient, alice: User, client_for: ClientFor, settings: Settings
) -> None:
    client = client_for(alice)
    token = tokens_of(client)["accessToken"]
    expected = {"sub": alice.id, "sid": session_id_of(client), "email": "alice@example.com", "role": "user", "tier": "public"}

    for headers in ({}, {"HTTP_X_SERVICE_KEY": settings.MANA_SERVICE_KEY}):
        response = api.post(f"{AUTH}/validate", {"token": token}, format="json", **headers)
        assert response.status_code == 200
        body = response.json()
        assert body["valid"] is True
        assert {claim: body["payload"][claim] for claim in expected} == expected


def test_validate_reports_a_revoked_sessions_token_as_revoked(api: APIClient, alice: User, client_for: ClientFor) -> None:
    client = client_for(alice)
    assert client.post(f"{AUTH}/logout").status_code == 200

    response = api.post(f"{AUTH}/validate", {"token": tokens_of(client)["accessToken"]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"valid": False, "reason": "revoked"}


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_validate_reports_garbage_as_invalid(api: APIClient, token: str) -> None:
    response = api.post(f"{AUTH}/validate", {"token": token}, format="json")
    assert response.status_code == 200
    assert response.json() == {"valid": False, "reason": "invalid"}


def test_validate_with_a_wrong_service_key_is_unauthorized(api: APIClient, alice: User, client_for: ClientFor, settings: Settings) -> None:
    settings.MANA_SERVICE_KEY = "the-right-service-key"
    token = tokens_of(client_for(alice))["accessToken"]

    for wrong in ("the-wrong-service-key", ""):
        response = api.post(f"{AUTH}/validate", {"token": token}, format="json", HTTP_X_SERVICE_KEY=wrong)
        assert_error(response, 401, "UNAUTHORIZED")
