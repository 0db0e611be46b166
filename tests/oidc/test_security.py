"""One test per security rule of the provider, each asserting the status and `error` that RFC 6749
and OpenID Connect Core prescribe, and the security event it leaves."""

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as DjangoClient
from django.utils import timezone

from accounts.models import LockoutState, User
from core.models import SecurityEvent
from oidc.models import Grant
from tests.oidc.conftest import CALLBACK, SIGNED_OUT, Client, authorize_query, form_fields, pkce, query_of
from tests.oidc.support import authorize, code_for, exchange, refresh, signed_in, userinfo
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db


def error_of(response: Any, status: int) -> str:
    assert response.status_code == status, response.content
    return str(response.json()["error"])


def events(type: str) -> int:
    return SecurityEvent.objects.filter(type=type).count()


# --- redirect URIs: exact match, else an error page and never a redirect -------------------------
@pytest.mark.parametrize(
    "redirect_uri",
    [
        f"{CALLBACK}/more",
        f"{CALLBACK}?extra=1",
        "https://rp.example:8443/callback",
        "http://rp.example/callback",
        "https://evil.example/callback",
    ],
)
def test_an_unregistered_redirect_uri_is_an_error_page_never_a_redirect(alice: User, confidential: Client, redirect_uri: str) -> None:
    response = authorize(signed_in(alice), confidential, redirect_uri=redirect_uri)
    assert response.status_code == 400
    assert "Location" not in response
    assert 'id="oidc-error"' in response.content.decode()
    assert events("OIDC_AUTHORIZATION_INVALID") == 1
    assert not Grant.objects.exists()


def test_an_unknown_client_is_an_error_page_too(alice: User, confidential: Client) -> None:
    response = signed_in(alice).get(f"/oauth/authorize?{authorize_query(confidential, client_id='nobody')}")
    assert response.status_code == 400
    assert "Location" not in response


def test_a_consent_form_pointed_elsewhere_is_refused_without_a_redirect(alice: User, confidential: Client) -> None:
    browser = signed_in(alice)
    url = f"/oauth/authorize?{authorize_query(confidential)}"
    fields = form_fields(browser.get(url).content.decode(), "consent-form")
    for allow in ({"allow": "on"}, {}):  # a refusal, too, goes nowhere but to a registered callback
        response = browser.post(url, fields | {"redirect_uri": "https://evil.example/cb"} | allow)
        assert response.status_code == 400
        assert "Location" not in response
    assert not Grant.objects.exists()


def test_the_redirect_uri_at_the_token_endpoint_must_be_the_one_of_the_code(alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential)
    assert error_of(exchange(confidential, code, verifier, redirect_uri="https://rp.example/other"), 400) == "invalid_request"


# --- authorization codes: single use, bound to their client --------------------------------------
def test_a_code_is_kept_only_as_its_hash_and_still_redeems(alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential)
    stored = list(Grant.objects.values_list("code", flat=True))
    assert stored == ["sha256:" + hashlib.sha256(code.encode()).hexdigest()]
    assert exchange(confidential, code, verifier).status_code == 200


def test_a_code_used_twice_is_refused_and_revokes_what_it_issued(alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential)
    first = exchange(confidential, code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert userinfo(tokens["access_token"]).status_code == 200
    assert error_of(exchange(confidential, code, verifier), 400) == "invalid_grant"
    assert userinfo(tokens["access_token"]).status_code == 401
    assert error_of(refresh(confidential, tokens["refresh_token"]), 400) == "invalid_grant"
    assert events("OIDC_CODE_REUSED") == 1


def test_a_code_replayed_after_its_tokens_were_refreshed_revokes_the_refreshed_ones_too(alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential)
    rotated = refresh(confidential, exchange(confidential, code, verifier).json()["refresh_token"]).json()
    assert userinfo(rotated["access_token"]).status_code == 200
    assert error_of(exchange(confidential, code, verifier), 400) == "invalid_grant"
    assert userinfo(rotated["access_token"]).status_code == 401
    assert error_of(refresh(confidential, rotated["refresh_token"]), 400) == "invalid_grant"


def test_a_code_of_one_client_cannot_be_redeemed_by_another(alice: User, confidential: Client, other_client: Client) -> None:
    code, verifier = code_for(alice, confidential)
    assert error_of(exchange(other_client, code, verifier), 400) == "invalid_grant"
    assert events("OIDC_CODE_WRONG_CLIENT") == 1
    assert exchange(confidential, code, verifier).status_code == 200  # still its own client's


def test_an_expired_code_is_refused(alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential)
    Grant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert error_of(exchange(confidential, code, verifier), 400) == "invalid_grant"


# --- who gets a code -----------------------------------------------------------------------------
def _lock(user: User) -> None:
    LockoutState.objects.update_or_create(email=user.email, defaults={"locked_until": timezone.now() + timedelta(minutes=30)})


def _erase(user: User) -> None:
    User.objects.filter(pk=user.pk).update(deleted_at=timezone.now())


def _deactivate(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


@pytest.mark.parametrize(("make", "reason"), [(_lock, "locked"), (_erase, "erased")])
def test_a_locked_or_erased_user_gets_no_code(alice: User, confidential: Client, make: Any, reason: str) -> None:
    browser = signed_in(alice)
    make(alice)
    response = browser.get(f"/oauth/authorize?{authorize_query(confidential, challenge=pkce()[1])}")
    assert response.status_code == 302
    assert query_of(response["Location"]) == {"error": "access_denied", "state": "st-1"}
    assert response["Location"].startswith(f"{CALLBACK}?")
    assert not Grant.objects.exists()
    assert SecurityEvent.objects.get(type="OIDC_AUTHORIZATION_REFUSED").metadata["reason"] == reason


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in_for_a_code(alice: User, confidential: Client) -> None:
    browser = signed_in(alice)
    _deactivate(alice)
    url = f"/oauth/authorize?{authorize_query(confidential, challenge=pkce()[1])}"
    response = browser.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")
    again = browser.post("/login", {"email": alice.email, "password": PASSWORD, "next": url})
    assert again.status_code == 200  # the sign-in form again, with its error
    assert not Grant.objects.exists()


def test_a_user_locked_while_the_consent_page_is_open_gets_no_code(alice: User, confidential: Client) -> None:
    browser = signed_in(alice)
    url = f"/oauth/authorize?{authorize_query(confidential, challenge=pkce()[1])}"
    fields = form_fields(browser.get(url).content.decode(), "consent-form")
    _lock(alice)
    response = browser.post(url, fields | {"allow": "on"})
    assert query_of(response["Location"]) == {"error": "access_denied", "state": "st-1"}
    assert not Grant.objects.exists()


@pytest.mark.parametrize("make", [_erase, _deactivate])
def test_a_code_is_not_exchanged_once_its_user_is_erased_or_deactivated(alice: User, confidential: Client, make: Any) -> None:
    code, verifier = code_for(alice, confidential)
    make(alice)
    assert error_of(exchange(confidential, code, verifier), 400) == "invalid_grant"


# --- refresh tokens --------------------------------------------------------------------------------
def test_a_refresh_token_only_with_offline_access(alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential, scope="openid email")
    tokens = exchange(confidential, code, verifier).json()
    assert "refresh_token" not in tokens
    assert set(tokens) >= {"access_token", "id_token"}


def test_a_rotated_refresh_token_replayed_is_refused_and_ends_the_family(alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential)
    first = exchange(confidential, code, verifier).json()["refresh_token"]
    second = refresh(confidential, first).json()
    assert second["refresh_token"] != first
    assert error_of(refresh(confidential, first), 400) == "invalid_grant"
    assert events("OIDC_REFRESH_TOKEN_REUSED") == 1
    assert error_of(refresh(confidential, second["refresh_token"]), 400) == "invalid_grant"
    assert userinfo(second["access_token"]).status_code == 401


def test_a_refresh_token_of_one_client_is_refused_to_another(alice: User, confidential: Client, other_client: Client) -> None:
    code, verifier = code_for(alice, confidential)
    token = exchange(confidential, code, verifier).json()["refresh_token"]
    assert error_of(refresh(other_client, token), 400) == "invalid_grant"


def test_a_deactivated_user_gets_no_refreshed_tokens(alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential)
    token = exchange(confidential, code, verifier).json()["refresh_token"]
    _deactivate(alice)
    assert error_of(refresh(confidential, token), 400) == "invalid_grant"


# --- PKCE ----------------------------------------------------------------------------------------
def test_a_public_client_must_send_a_code_challenge(alice: User, public: Client) -> None:
    response = authorize(signed_in(alice), public)
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"
    assert not Grant.objects.exists()


def test_the_plain_challenge_method_is_refused(alice: User, public: Client) -> None:
    response = authorize(signed_in(alice), public, code_challenge="x" * 43, code_challenge_method="plain")
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_a_public_client_must_send_the_right_code_verifier(alice: User, public: Client) -> None:
    code, verifier = code_for(alice, public)
    assert error_of(exchange(public, code, None), 400) == "invalid_request"
    assert error_of(exchange(public, code, verifier[::-1]), 400) == "invalid_grant"


def test_a_confidential_client_with_a_challenge_is_held_to_it(alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential)
    assert error_of(exchange(confidential, code, "wrong-" + verifier), 400) == "invalid_grant"


# --- client authentication -------------------------------------------------------------------------
@pytest.mark.parametrize("via", ["basic", "post"])
def test_a_confidential_client_authenticates_by_basic_or_post(alice: User, confidential: Client, via: str) -> None:
    code, verifier = code_for(alice, confidential)
    assert exchange(confidential, code, verifier, via=via).status_code == 200


@pytest.mark.parametrize("via", ["basic", "post"])
def test_a_wrong_client_secret_is_invalid_client(alice: User, confidential: Client, via: str) -> None:
    code, verifier = code_for(alice, confidential)
    assert error_of(exchange(confidential, code, verifier, via=via, secret="not-the-secret"), 401) == "invalid_client"
    assert events("OIDC_CLIENT_AUTHENTICATION_FAILED") == 1


def test_a_confidential_client_without_its_secret_is_invalid_client(alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential)
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier}
    assert error_of(DjangoClient().post("/oauth/token", body | {"client_id": confidential.client_id}), 401) == "invalid_client"


# --- what each scope shows --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scope", "claims"),
    [("openid", {"sub"}), ("openid email", {"sub", "email", "email_verified"}), ("openid profile", {"sub", "name"})],
)
def test_userinfo_shows_the_claims_of_the_granted_scopes_only(alice: User, confidential: Client, scope: str, claims: set[str]) -> None:
    code, verifier = code_for(alice, confidential, scope=scope)
    assert set(userinfo(exchange(confidential, code, verifier).json()["access_token"]).json()) == claims


def test_userinfo_without_a_valid_token_is_invalid_token(db: None) -> None:
    response = userinfo("not-a-token")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


# --- end session ---------------------------------------------------------------------------------
def _id_token(user: User, client: Client) -> tuple[DjangoClient, str]:
    verifier, challenge = pkce()
    browser = signed_in(user)
    code = query_of(authorize(browser, client, challenge=challenge)["Location"])["code"]
    return browser, exchange(client, code, verifier).json()["id_token"]


def test_end_session_to_an_unregistered_uri_is_an_error_page(alice: User, confidential: Client) -> None:
    browser, id_token = _id_token(alice, confidential)
    response = browser.get("/oauth/logout", {"id_token_hint": id_token, "post_logout_redirect_uri": "https://evil.example/"})
    assert response.status_code == 400
    assert "Location" not in response
    assert browser.get("/account").status_code == 200  # still signed in


def test_end_session_with_a_forged_hint_is_an_error_page(alice: User, confidential: Client) -> None:
    browser, id_token = _id_token(alice, confidential)
    head, payload, signature = id_token.split(".")
    forged = f"{head}.{payload}.{signature[::-1]}"
    response = browser.get("/oauth/logout", {"id_token_hint": forged, "post_logout_redirect_uri": SIGNED_OUT})
    assert response.status_code == 400
    assert "Location" not in response


def test_end_session_without_a_hint_asks_the_person_then_signs_out(alice: User, confidential: Client) -> None:
    browser = signed_in(alice)
    params = {"client_id": confidential.client_id, "post_logout_redirect_uri": SIGNED_OUT, "state": "s"}
    page = browser.get("/oauth/logout", params)
    assert page.status_code == 200
    assert "https://rp.example;" in page["Content-Security-Policy"]  # the confirmation may lead back to the client
    response = browser.post("/oauth/logout", form_fields(page.content.decode(), "logout-form") | {"allow": "on"})
    assert response.status_code == 302
    assert response["Location"] == f"{SIGNED_OUT}?state=s"
    assert browser.get("/account").status_code == 302
    assert SecurityEvent.objects.filter(type="OIDC_LOGOUT", user=alice).count() == 1
