"""The consent page (German and English, strict CSP), the answers to prompt, and the consents on
/account: listed, revocable with a CSRF-checked POST, revoking ending what the client holds."""

import json

import pytest
from django.test import Client as DjangoClient

from accounts.models import User
from core.models import SecurityEvent
from oidc.models import Consent
from tests.oidc.conftest import CALLBACK, Client, authorize_query, form_fields, pkce, query_of
from tests.oidc.support import authorize, code_for, exchange, refresh, signed_in, userinfo
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "heading", "scope_text"),
    [("de", "mit Mana anmelden?", "Deine E-Mail-Adresse"), ("en", "with Mana?", "Your email address")],
)
def test_the_consent_page_names_the_client_and_the_scopes_in_the_persons_language(
    alice: User, confidential: Client, language: str, heading: str, scope_text: str
) -> None:
    browser = signed_in(alice)
    page = browser.get(f"/oauth/authorize?{authorize_query(confidential, challenge=pkce()[1])}", HTTP_ACCEPT_LANGUAGE=language)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Grafana" in body
    assert heading in body
    assert scope_text in body
    assert f'<html lang="{language}">' in body


def test_the_consent_page_keeps_the_strict_csp_and_may_lead_to_the_clients_callback_only(alice: User, confidential: Client) -> None:
    page = signed_in(alice).get(f"/oauth/authorize?{authorize_query(confidential, challenge=pkce()[1])}")
    policy = page["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "'unsafe-inline'" not in policy
    assert "form-action 'self' http://localhost:5173 https://rp.example;" in policy
    assert "<script>" not in page.content.decode()
    assert " style=" not in page.content.decode()


def test_the_sign_in_pages_on_the_way_to_a_client_may_lead_to_its_callback(confidential: Client) -> None:
    next_url = f"/oauth/authorize?{authorize_query(confidential, challenge=pkce()[1])}"
    login = DjangoClient().get("/login", {"next": next_url})
    assert "https://rp.example;" in login["Content-Security-Policy"]
    elsewhere = DjangoClient().get("/login", {"next": "/oauth/authorize?client_id=nobody&redirect_uri=https://evil.example/"})
    assert "evil.example" not in elsewhere["Content-Security-Policy"]


def test_cancel_on_the_consent_page_is_access_denied(alice: User, confidential: Client) -> None:
    browser = signed_in(alice)
    url = f"/oauth/authorize?{authorize_query(confidential, challenge=pkce()[1])}"
    response = browser.post(url, form_fields(browser.get(url).content.decode(), "consent-form"))
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "access_denied"
    assert query_of(response["Location"])["state"] == "st-1"
    assert not Consent.objects.exists()
    assert SecurityEvent.objects.filter(type="OIDC_CONSENT_DENIED", user=alice).count() == 1


def test_prompt_none_answers_login_required_or_consent_required(alice: User, confidential: Client) -> None:
    url = f"/oauth/authorize?{authorize_query(confidential, challenge=pkce()[1], prompt='none')}"
    anonymous = DjangoClient().get(url)
    assert query_of(anonymous["Location"])["error"] == "login_required"
    assert anonymous["Location"].startswith(CALLBACK)
    signed = signed_in(alice).get(url)
    assert query_of(signed["Location"])["error"] == "consent_required"


def test_the_account_page_lists_the_consents_and_revoking_ends_the_clients_tokens(alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential)
    tokens = exchange(confidential, code, verifier).json()
    browser = signed_in(alice)
    consent = Consent.objects.get(user=alice)
    page = browser.get("/account", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Connected apps" in page
    assert f'action="/account/apps/{consent.id}/revoke"' in page
    assert "Grafana" in page

    response = browser.post(f"/account/apps/{consent.id}/revoke")
    assert response.status_code == 302
    assert not Consent.objects.active().exists()
    assert userinfo(tokens["access_token"]).status_code == 401
    assert refresh(confidential, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert SecurityEvent.objects.filter(type="OIDC_CONSENT_REVOKED", user=alice).count() == 1
    assert 'id="consent-form"' in browser.get(f"/oauth/authorize?{authorize_query(confidential, challenge=pkce()[1])}").content.decode()


def test_revoking_needs_the_csrf_token(alice: User, confidential: Client) -> None:
    code_for(alice, confidential)
    browser = DjangoClient(enforce_csrf_checks=True)
    browser.post("/login", {"email": alice.email, "password": PASSWORD})  # the sign-in form itself is not checked here
    consent = Consent.objects.get(user=alice)
    assert browser.post(f"/account/apps/{consent.id}/revoke").status_code == 403
    assert Consent.objects.active().filter(pk=consent.pk).exists()


def test_another_persons_consent_is_not_found(alice: User, bob: User, confidential: Client) -> None:
    code_for(alice, confidential)
    consent = Consent.objects.get(user=alice)
    response = signed_in(bob).post(f"/account/apps/{consent.id}/revoke", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200  # the account page again, with its error
    assert "Not found." in response.content.decode()
    assert Consent.objects.active().filter(pk=consent.pk).exists()


def test_the_export_names_the_connected_apps_and_no_token(alice: User, confidential: Client, client_for) -> None:
    code, verifier = code_for(alice, confidential)
    tokens = exchange(confidential, code, verifier).json()
    export = client_for(alice).get("/api/v1/me/data/export").content.decode()
    apps = json.loads(export)["connectedApps"]
    assert [consent["application__name"] for consent in apps["consents"]] == ["Grafana"]
    assert len(apps["refreshTokens"]) == 1
    for secret in (tokens["access_token"], tokens["refresh_token"], tokens["id_token"], code):
        assert secret not in export


def test_authorize_without_sign_in_goes_to_our_login_and_back(alice: User, confidential: Client) -> None:
    url = f"/oauth/authorize?{authorize_query(confidential, challenge=pkce()[1])}"
    browser = DjangoClient()
    to_login = browser.get(url)
    assert to_login.status_code == 302
    assert query_of(to_login["Location"])["next"] == url
    back = browser.post("/login", {"email": alice.email, "password": PASSWORD, "next": url})
    assert back["Location"] == url
    assert authorize(browser, confidential, challenge=pkce()[1]).status_code == 302
