"""Attacks on passkey sign-in: a stranger's garbage must not lock the owner's passkey out, the
options must not say who has a passkey, and a passkey without user verification is no second factor."""

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import totp
from accounts.models import Session, User
from tests.passkeys.authenticator import SoftAuthenticator, b64url_decode
from tests.passkeys.test_passkeys import BASE, ORIGIN, assertion, register, verify
from tests.support import Clock, enable
from tests.support import verify as two_factor_verify

pytestmark = pytest.mark.django_db


def garbage_against(authenticator: SoftAuthenticator, count: int) -> list[int]:
    """What a stranger can do with the credential id alone: assertions no key of the owner signed."""
    return [verify(authenticator.sign_with_other_key(assertion(authenticator))).status_code for _ in range(count)]


@pytest.mark.usefixtures("one_rate_window")
def test_attack_garbage_assertions_do_not_block_the_owners_passkey(alice: User, client_for) -> None:
    owner = SoftAuthenticator()
    register(client_for(alice), owner)
    assert garbage_against(owner, 11) == [401] * 10 + [429]  # the block still slows garbage

    assert verify(assertion(owner, alice.email)).status_code == 200  # email-first
    assert verify(assertion(owner)).json()["user"]["id"] == alice.id  # discoverable, no email


def allowed(email: str) -> list[dict[str, Any]]:
    options = APIClient().post(f"{BASE}/authenticate/options", {"email": email}, format="json").json()
    return list(options["allowCredentials"])


def test_attack_options_do_not_tell_who_has_a_passkey(alice: User, bob: User, client_for) -> None:
    owner = SoftAuthenticator()
    register(client_for(alice), owner)
    known = allowed(alice.email)
    assert [c["id"] for c in known] == [owner.credentials[0].credential_id]  # email-first sign-in keeps its real ids

    for address in (bob.email, "nobody@example.com", "Nobody@Example.com "):
        decoys = allowed(address)
        assert decoys, address  # never the empty list that marks "no passkey here"
        assert len(decoys) <= 2  # as many as people hold: one, sometimes two
        for decoy in decoys:
            assert set(decoy) == set(known[0])
            assert decoy["type"] == "public-key"
            assert len(b64url_decode(decoy["id"])) in {16, 20, 32, 64}
            assert decoy["transports"]
        assert allowed(address) == decoys  # stable: asking again cannot tell decoys from real ids
    assert allowed("nobody@example.com") == allowed("Nobody@Example.com ")
    assert allowed(bob.email) != allowed("nobody@example.com")


def test_attack_passkey_without_user_verification_stands_in_for_the_second_factor(make_user, client_for, monkeypatch) -> None:
    steps = Clock(monkeypatch)
    user = make_user("twofa@example.com")
    client = client_for(user)
    secret = enable(client, steps)["secret"]
    key = SoftAuthenticator()
    register(client, key)

    handoff = verify(assertion(key, user.email, user_verified=False))
    assert (handoff.status_code, handoff.json()["error"]) == (401, "TWO_FACTOR_REQUIRED")
    assert "accessToken" not in handoff.json()
    sessions = Session.objects.filter(user=user).count()
    steps.step()
    completed = two_factor_verify(APIClient(), handoff.json()["twoFactorToken"], code=totp.code_at(secret, steps.now))
    assert completed.status_code == 200
    assert Session.objects.filter(user=user).count() == sessions + 1
    assert Session.objects.filter(user=user).latest("created_at").method == "passkey_no_uv+totp"

    verified = verify(assertion(key, user.email))  # with user verification the passkey is both factors
    assert verified.status_code == 200
    assert Session.objects.filter(user=user).latest("created_at").method == "passkey"


def test_a_passkey_without_user_verification_signs_in_a_user_without_two_factor(alice: User, client_for) -> None:
    key = SoftAuthenticator()
    register(client_for(alice), key)
    signed_in = verify(assertion(key, alice.email, user_verified=False))
    assert signed_in.status_code == 200
    assert Session.objects.filter(user=alice).latest("created_at").method == "passkey_no_uv"


def browser_passkey_sign_in(key: SoftAuthenticator, user_verified: bool) -> Client:
    browser = Client()
    options = browser.post("/login/passkey/options").json()
    response = key.get(options=options, origin=ORIGIN, user_verified=user_verified)
    signed_in = browser.post("/login/passkey", {"response": response, "next": "/admin/"}, content_type="application/json")
    assert signed_in.json() == {"redirect": "/admin/"}
    return browser


def test_attack_passkey_without_user_verification_opens_the_admin_console(make_user, client_for, settings) -> None:
    settings.ADMIN_REQUIRE_2FA = True
    operator = make_user("ops@example.com", is_staff=True, is_superuser=True, role="admin")
    key = SoftAuthenticator()
    register(client_for(operator), key)

    assert browser_passkey_sign_in(key, user_verified=False).get("/admin/", follow=True).status_code == 403
    assert browser_passkey_sign_in(key, user_verified=True).get("/admin/").status_code == 200
