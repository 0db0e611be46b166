"""The provider's endpoints called as a browser and a client would, with Django's test client:
sign in, authorize (consenting when asked), exchange and refresh at the token endpoint."""

import base64
from typing import Any

from django.test import Client as DjangoClient

from accounts.models import User
from tests.oidc.conftest import CALLBACK, Client, authorize_query, form_fields, pkce, query_of
from tests.support import PASSWORD


def signed_in(user: User) -> DjangoClient:
    browser = DjangoClient()
    assert browser.post("/login", {"email": user.email, "password": PASSWORD}).status_code == 302
    return browser


def authorize(browser: DjangoClient, client: Client, **params: Any) -> Any:
    """The authorization request, consent given if the page asks."""
    url = f"/oauth/authorize?{authorize_query(client, **params)}"
    page = browser.get(url)
    if page.status_code == 200 and 'id="consent-form"' in page.content.decode():
        return browser.post(url, form_fields(page.content.decode(), "consent-form") | {"allow": "on"})
    return page


def code_for(user: User, client: Client, **params: Any) -> tuple[str, str]:
    verifier, challenge = pkce()
    response = authorize(signed_in(user), client, challenge=challenge, **params)
    assert response.status_code == 302, response.content
    return query_of(response["Location"])["code"], verifier


def exchange(client: Client, code: str, verifier: str | None, *, via: str = "basic", secret: str | None = None, **extra: str) -> Any:
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **({"code_verifier": verifier} if verifier else {})}
    return _token_request(client, body | extra, via=via, secret=secret)


def refresh(client: Client, refresh_token: str) -> Any:
    return _token_request(client, {"grant_type": "refresh_token", "refresh_token": refresh_token}, via="basic")


def _token_request(client: Client, body: dict[str, str], *, via: str, secret: str | None = None) -> Any:
    secret = secret if secret is not None else client.client_secret
    if secret is None:  # a public client names itself and proves nothing but PKCE
        return DjangoClient().post("/oauth/token", body | {"client_id": client.client_id})
    if via == "post":
        return DjangoClient().post("/oauth/token", body | {"client_id": client.client_id, "client_secret": secret})
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    return DjangoClient().post("/oauth/token", body, HTTP_AUTHORIZATION=f"Basic {basic}")


def userinfo(access_token: str) -> Any:
    return DjangoClient().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")
