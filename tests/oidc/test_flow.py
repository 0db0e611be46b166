"""The whole "Sign in with Mana" flow, driven by a real relying-party library (Authlib) against the
provider on a live server: discovery, authorize with PKCE, sign-in through the /login form,
consent, code exchange, the ID token verified against jwks_uri, userinfo, refresh rotation and
end session; once for a confidential client, once for a public one."""

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core.util import create_half_hash
from django.conf import settings
from joserfc import jwt
from joserfc.jwk import KeySet

from accounts.models import Session, User
from core.models import SecurityEvent
from tests.oidc.conftest import ALL_SCOPES, CALLBACK, SIGNED_OUT, Browser, Client, query_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def relying_party() -> Iterator[Callable[[Client], OAuth2Session]]:
    """Authlib's OAuth 2 session for a client; closed afterwards, so no connection outlives the test."""
    opened: list[OAuth2Session] = []

    def make(client: Client) -> OAuth2Session:
        session = OAuth2Session(
            client.client_id,
            client.client_secret,
            token_endpoint_auth_method="client_secret_basic" if client.client_secret else "none",
            scope=ALL_SCOPES,
            redirect_uri=CALLBACK,
            code_challenge_method="S256",
        )
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()


def verified_id_token(id_token: str, *, metadata: dict[str, Any], client: Client, nonce: str, access_token: str) -> dict[str, Any]:
    """What a relying party does with an ID token: signature by `kid` from jwks_uri, then the
    claims OpenID Connect Core §3.1.3.7 asks it to check."""
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    token = jwt.decode(id_token, keys, algorithms=metadata["id_token_signing_alg_values_supported"])
    assert token.header["alg"] == "RS256"
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": metadata["issuer"]},
        aud={"essential": True, "value": client.client_id},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        auth_time={"essential": True},
    ).validate(token.claims)
    assert token.claims["at_hash"] == create_half_hash(access_token, "RS256").decode()
    return dict(token.claims)


@pytest.mark.parametrize("kind", ["confidential", "public"])
def test_the_whole_flow_with_a_real_relying_party(
    kind: str,
    request: pytest.FixtureRequest,
    provider: str,
    web: Browser,
    alice: User,
    relying_party: Callable[[Client], OAuth2Session],
) -> None:
    client: Client = request.getfixturevalue(kind)
    metadata = requests.get(f"{provider}/.well-known/openid-configuration", timeout=10).json()
    assert metadata["issuer"] == settings.JWT_ISSUER
    assert metadata["jwks_uri"] == f"{provider}/.well-known/jwks.json"
    assert metadata["code_challenge_methods_supported"] == ["S256"]

    rp = relying_party(client)
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    consent_page = web.authorize(url, alice.email)
    assert client.application.name in consent_page.text
    callback = web.consent(consent_page)
    assert callback.status_code == 302
    assert callback.headers["Location"].startswith(f"{CALLBACK}?")
    assert query_of(callback.headers["Location"])["state"] == state
    assert query_of(callback.headers["Location"])["iss"] == metadata["issuer"]

    token = rp.fetch_token(metadata["token_endpoint"], authorization_response=callback.headers["Location"], code_verifier=verifier)
    assert set(token) >= {"access_token", "id_token", "refresh_token", "expires_in", "token_type"}
    claims = verified_id_token(token["id_token"], metadata=metadata, client=client, nonce=nonce, access_token=token["access_token"])
    assert claims["sub"] == alice.id
    assert (claims["email"], claims["email_verified"], claims["name"]) == (alice.email, True, "Alice")
    signed_in_at = Session.objects.get(user=alice, revoked_at__isnull=True).created_at
    assert claims["auth_time"] == int(signed_in_at.timestamp())

    userinfo = rp.get(metadata["userinfo_endpoint"])
    assert userinfo.status_code == 200
    assert userinfo.json() == {"sub": alice.id, "email": alice.email, "email_verified": True, "name": "Alice"}

    first_refresh = token["refresh_token"]
    refreshed = rp.refresh_token(metadata["token_endpoint"], refresh_token=first_refresh)
    assert refreshed["refresh_token"] != first_refresh
    assert refreshed["access_token"] != token["access_token"]
    assert rp.get(metadata["userinfo_endpoint"]).json()["sub"] == alice.id
    with pytest.raises(OAuthError) as reused:
        relying_party(client).refresh_token(metadata["token_endpoint"], refresh_token=first_refresh)
    assert reused.value.error == "invalid_grant"

    goodbye = web.get(
        metadata["end_session_endpoint"],
        params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": SIGNED_OUT, "state": "bye-1"},
    )
    assert goodbye.status_code == 302
    assert goodbye.headers["Location"] == f"{SIGNED_OUT}?state=bye-1"
    assert web.get("/account").headers["Location"].startswith("/login")
    assert not Session.objects.filter(user=alice, revoked_at__isnull=True).exists()
    assert rp.get(metadata["userinfo_endpoint"]).status_code == 401  # the client's tokens ended with the sign-out

    events = set(SecurityEvent.objects.filter(user=alice, type__startswith="OIDC_").values_list("type", flat=True))
    assert events == {"OIDC_CODE_ISSUED", "OIDC_CONSENT_GIVEN", "OIDC_TOKENS_ISSUED", "OIDC_REFRESH_TOKEN_REUSED", "OIDC_LOGOUT"}


def test_a_second_sign_in_to_the_same_client_and_scopes_asks_no_consent(
    provider: str, web: Browser, alice: User, confidential: Client, relying_party: Callable[[Client], OAuth2Session]
) -> None:
    metadata = requests.get(f"{provider}/.well-known/openid-configuration", timeout=10).json()
    rp = relying_party(confidential)
    first, _ = rp.create_authorization_url(metadata["authorization_endpoint"], code_verifier=secrets.token_urlsafe(48), nonce="n")
    assert web.consent(web.authorize(first, alice.email)).status_code == 302
    again, _ = rp.create_authorization_url(metadata["authorization_endpoint"], code_verifier=secrets.token_urlsafe(48), nonce="n")
    straight_back = web.get(again)
    assert straight_back.status_code == 302
    assert "code" in query_of(straight_back.headers["Location"])
    rp.scope = "openid email"
    more, _ = rp.create_authorization_url(metadata["authorization_endpoint"], code_verifier=secrets.token_urlsafe(48), nonce="n")
    assert web.get(more).status_code == 302  # a subset of what was approved
    forced = web.get(f"{again}&prompt=consent")
    assert forced.status_code == 200
    assert 'id="consent-form"' in forced.text
