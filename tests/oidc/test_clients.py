"""Registering clients: the command prints the id and the secret once, the admin shows the secret
once, and only its hash is kept."""

import io
import json

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from django.test import Client as DjangoClient
from django.urls import reverse

from accounts.models import User
from core.models import SecurityEvent
from oidc.models import AccessToken, Application, RefreshToken, RsaSigningKey
from tests.oidc.conftest import CALLBACK, SIGNED_OUT, Client
from tests.oidc.support import code_for, exchange
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db


def create(*args: str) -> dict[str, str]:
    out = io.StringIO()
    call_command("create_oidc_client", *args, stdout=out)
    return dict(json.loads(out.getvalue()))


def test_create_oidc_client_prints_the_id_and_the_secret_once_and_keeps_its_hash(db: None) -> None:
    printed = create(
        "--name", "Grafana", "--redirect-uri", CALLBACK, "--redirect-uri", f"{CALLBACK}2", "--post-logout-redirect-uri", SIGNED_OUT
    )
    assert set(printed) == {"client_id", "client_secret"}
    application = Application.objects.get(client_id=printed["client_id"])
    assert (application.name, application.client_type, application.algorithm) == ("Grafana", "confidential", "RS256")
    assert application.redirect_uris.split() == [CALLBACK, f"{CALLBACK}2"]
    assert application.post_logout_redirect_uris.split() == [SIGNED_OUT]
    assert printed["client_secret"] not in application.client_secret
    assert check_password(printed["client_secret"], application.client_secret)
    assert RsaSigningKey.objects.filter(active=True).count() == 1  # the JWKS has the key before the first sign-in
    assert SecurityEvent.objects.get(type="OIDC_CLIENT_CREATED").metadata["clientId"] == printed["client_id"]


def test_a_public_client_gets_no_secret(db: None) -> None:
    printed = create("--name", "Notes", "--redirect-uri", CALLBACK, "--public")
    assert set(printed) == {"client_id"}
    assert Application.objects.get(client_id=printed["client_id"]).client_type == "public"


def test_a_malformed_redirect_uri_is_refused(db: None) -> None:
    with pytest.raises(CommandError, match="redirect_uris"):
        create("--name", "Broken", "--redirect-uri", "not a uri")
    assert not Application.objects.exists()


@pytest.fixture
def console(make_user) -> DjangoClient:
    make_user("ops@example.com", is_staff=True, is_superuser=True, role="admin")
    client = DjangoClient()
    assert client.post("/login", {"email": "ops@example.com", "password": PASSWORD, "next": "/admin/"}).status_code == 302
    return client


def test_the_admin_shows_a_new_clients_secret_once(console: DjangoClient) -> None:
    response = console.post(
        reverse("admin:oidc_application_add"),
        {"name": "Wiki", "client_type": "confidential", "redirect_uris": CALLBACK, "post_logout_redirect_uris": ""},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    application = Application.objects.get(name="Wiki")
    shown = response.context["secret"]
    assert shown in response.content.decode()
    assert check_password(shown, application.client_secret)
    page = console.get(reverse("admin:oidc_application_change", args=[application.pk])).content.decode()
    assert shown not in page
    assert application.client_secret not in page
    assert SecurityEvent.objects.get(type="OIDC_CLIENT_CREATED").user is not None  # the operator


def test_the_admin_resets_a_secret_and_shows_the_new_one_once(console: DjangoClient, confidential: Client) -> None:
    response = console.post(
        reverse("admin:oidc_application_changelist"), {"action": "reset_secret", "_selected_action": [confidential.application.pk]}
    )
    shown = response.context["secret"]
    stored = Application.objects.get(pk=confidential.application.pk).client_secret
    assert check_password(shown, stored)
    assert not check_password(str(confidential.client_secret), stored)


def test_the_admin_pages_of_the_provider_render_without_a_secret_or_token(console: DjangoClient, alice: User, confidential: Client) -> None:
    code, verifier = code_for(alice, confidential)
    tokens = exchange(confidential, code, verifier).json()
    secrets = [str(confidential.client_secret), tokens["access_token"], tokens["refresh_token"], tokens["id_token"], code]
    secrets += [Application.objects.get(pk=confidential.application.pk).client_secret, RsaSigningKey.objects.get().private_key_wrapped]
    pages = [reverse(f"admin:oidc_{model}_changelist") for model in ("application", "accesstoken", "refreshtoken", "idtoken", "grant")]
    pages += [reverse("admin:oidc_consent_changelist"), reverse("admin:oidc_rsasigningkey_changelist")]
    pages += [reverse("admin:oidc_accesstoken_change", args=[AccessToken.objects.get().pk])]
    pages += [reverse("admin:oidc_refreshtoken_change", args=[RefreshToken.objects.get().pk])]
    pages += [reverse("admin:oidc_rsasigningkey_change", args=[RsaSigningKey.objects.get().pk])]
    for url in pages:
        body = console.get(url)
        assert body.status_code == 200, url
        for secret in secrets:
            assert secret not in body.content.decode(), url
        assert "PRIVATE KEY" not in body.content.decode()
