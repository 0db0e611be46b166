"""Attacks with input the service must refuse with a 4xx (issue 18): NUL bytes, over-long and
invisible addresses, a JSON list where a redirect target belongs."""

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.test_passkeys import ORIGIN
from tests.passkeys.test_passkeys import register as register_passkey
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

PATH_ID_ROUTES = [
    "/api/v1/spaces/%00",
    "/api/v1/spaces/%00/members",
    "/api/v1/auth/sessions/%00",
    "/api/v1/me/ai-mission-grants/%00",
    "/api/v1/api-keys/%00",
    "/api/v1/auth/passkeys/%00",
    "/api/v1/internal/grants/%00",
    "/api/v1/internal/users/%00/memberships",
    "/api/v1/internal/org/%00/member/%00",
]
# Looks like alice@example.com; each is a default-ignorable code point.
INVISIBLE = ["\u200b", "\u00ad", "\u2060", "\ufeff", "\u180e", "\U000e0041"]


def envelope(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert (body["error"], body["status"]) == (code, status)


@pytest.mark.parametrize("path", PATH_ID_ROUTES)
def test_attack_nul_byte_in_a_path_id_is_a_400_not_a_5xx(alice: User, client_for, settings, path: str) -> None:
    client = client_for(alice)
    client.credentials(HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"], HTTP_X_SERVICE_KEY=settings.MANA_SERVICE_KEY)
    for method in ("get", "patch", "delete"):
        envelope(getattr(client, method)(path), 400, "VALIDATION")


def test_attack_nul_byte_in_a_query_or_form_is_a_400(alice: User, client_for) -> None:
    envelope(client_for(alice).get("/api/v1/auth/security-events?limit=%00"), 400, "VALIDATION")
    envelope(Client().post("/login", {"email": "alice@example.com\x00", "password": PASSWORD}), 400, "VALIDATION")


@pytest.mark.postgres
@pytest.mark.parametrize("page", ["/login", "/register", "/forgot-password", "/magic-link"])
def test_attack_nul_byte_in_a_page_form_is_a_4xx(db: None, page: str) -> None:
    response = Client().post(page, {"email": "a\x00@example.com", "password": "a sturdy passphrase 42", "name": "A"})
    envelope(response, 400, "VALIDATION")


@pytest.mark.parametrize("page", ["/login", "/register", "/forgot-password", "/magic-link"])
def test_attack_an_over_long_address_in_a_page_form_is_a_form_error(db: None, page: str) -> None:
    long_address = "a" * 278 + "@example.com"
    response = Client().post(page, {"email": long_address, "password": "a sturdy passphrase 42", "name": "A"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Please check your input." in response.content.decode()
    assert not User.objects.filter(email__startswith="aaaa").exists()


@pytest.mark.parametrize("next_url", [["/account"], {"to": "/account"}, 7])
def test_attack_a_list_as_next_of_the_passkey_login_is_no_5xx(alice: User, client_for, next_url: Any) -> None:
    key = SoftAuthenticator()
    register_passkey(client_for(alice), key)
    browser = Client()
    options = browser.post("/login/passkey/options").json()
    response = browser.post(
        "/login/passkey", {"response": key.get(options=options, origin=ORIGIN), "next": next_url}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"redirect": "/account"}


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_attack_an_invisible_character_in_the_domain_cannot_register_a_look_alike(alice: User, invisible: str) -> None:
    address = f"alice@exam{invisible}ple.com"
    body = {"email": address, "password": "a sturdy passphrase 42", "name": "Mallory"}
    response = APIClient().post("/api/v1/auth/register", body, format="json")
    envelope(response, 400, "VALIDATION")
    assert "email" in response.json()["fields"]
    page = Client().post("/register", body, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and 'id="email-error"' in page.content.decode()
    assert User.objects.count() == 1


def test_attack_an_invisible_character_cannot_become_the_new_address(alice: User, client_for) -> None:
    response = client_for(alice).post(
        "/api/v1/auth/change-email", {"newEmail": "bob@exa\u200bmple.com", "password": PASSWORD}, format="json"
    )
    envelope(response, 400, "VALIDATION")
    assert "newEmail" in response.json()["fields"]
