"""Issue 18 #4: a credential added with an access token alone (a passkey, an API key) belongs to the
session that added it and ends with it; one added with a proof (the current password or a TOTP
code) stays; the user is mailed about each."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts import totp
from accounts.models import User
from core import hooks
from core.models import SecurityEvent
from mail.models import OutboxMessage
from passkeys.models import Passkey
from spaces.models import ApiKey
from tests.notify import NotifyStub
from tests.passkeys.authenticator import SoftAuthenticator
from tests.support import AUTH, PASSWORD, Clock, enable, request_reset_link, session_id_of

pytestmark = pytest.mark.django_db

ORIGIN = "http://localhost:8000"
PASSKEYS = "/api/v1/auth/passkeys"
KEYS = "/api/v1/api-keys"
NEW_PASSWORD = "a brand new sturdy passphrase"


def register(client: APIClient, **proof: Any) -> Any:
    options = client.post(f"{PASSKEYS}/register/options").json()
    response = SoftAuthenticator().create(options=options, origin=ORIGIN)
    return client.post(f"{PASSKEYS}/register/verify", {"response": response, **proof}, format="json")


def key_create(client: APIClient, **proof: Any) -> Any:
    return client.post(KEYS, {"name": "speech", **proof}, format="json")


def key_valid(key: str) -> bool:
    return bool(APIClient().post(f"{KEYS}/validate", {"apiKey": key}, format="json").json()["valid"])


def reset_password(api: APIClient, notify: NotifyStub, capture: Any, email: str) -> None:
    token = request_reset_link(api, notify, capture, email)
    assert api.post(f"{AUTH}/reset-password", {"token": token, "newPassword": NEW_PASSWORD}, format="json").status_code == 200


def test_attack_token_only_passkey_and_api_key_survive_a_password_reset(
    api: APIClient, alice: User, client_for, notify: NotifyStub, django_capture_on_commit_callbacks
) -> None:
    thief = client_for(alice)  # a stolen access token: no password, no code
    assert register(thief).status_code == 201
    key = key_create(thief).json()["key"]
    assert Passkey.objects.get(user=alice).session_id == session_id_of(thief)
    assert ApiKey.objects.get(user=alice).session_id == session_id_of(thief)

    reset_password(api, notify, django_capture_on_commit_callbacks, alice.email)

    assert not Passkey.objects.filter(user=alice).exists()
    assert not key_valid(key)
    assert SecurityEvent.objects.filter(user=alice, type="PASSKEY_DELETED", metadata__reason="session_ended").count() == 1
    assert SecurityEvent.objects.filter(user=alice, type="API_KEY_REVOKED", metadata__reason="session_ended").count() == 1


def test_attack_token_only_credentials_survive_revoking_the_session(alice: User, client_for) -> None:
    owner, thief = client_for(alice), client_for(alice)
    assert register(thief).status_code == 201
    key = key_create(thief).json()["key"]
    assert register(owner).status_code == 201  # the owner's own session keeps its passkey

    assert owner.delete(f"{AUTH}/sessions/{session_id_of(thief)}").status_code == 200

    assert list(Passkey.objects.filter(user=alice).values_list("session_id", flat=True)) == [session_id_of(owner)]
    assert not key_valid(key)


def test_attack_signing_out_first_does_not_keep_the_credentials_past_a_reset(
    api: APIClient, alice: User, client_for, notify: NotifyStub, django_capture_on_commit_callbacks
) -> None:
    thief = client_for(alice)
    assert register(thief).status_code == 201
    key = key_create(thief).json()["key"]
    assert thief.post(f"{AUTH}/logout", {}, format="json").status_code == 200
    # Signing out of one's own session keeps them (the web app's passkeys must survive a sign-out) ...
    assert Passkey.objects.filter(user=alice).exists()
    assert key_valid(key)
    # ... until the next act that ends every session.
    reset_password(api, notify, django_capture_on_commit_callbacks, alice.email)
    assert not Passkey.objects.filter(user=alice).exists()
    assert not key_valid(key)


def test_credentials_added_with_the_current_password_outlive_the_session(
    api: APIClient, alice: User, client_for, notify: NotifyStub, django_capture_on_commit_callbacks
) -> None:
    client = client_for(alice)
    assert register(client, password=PASSWORD).status_code == 201
    key = key_create(client, password=PASSWORD).json()["key"]
    assert Passkey.objects.get(user=alice).session_id is None
    reset_password(api, notify, django_capture_on_commit_callbacks, alice.email)
    assert Passkey.objects.filter(user=alice).exists()
    assert key_valid(key)


def test_a_wrong_proof_is_refused_and_adds_nothing(alice: User, client_for) -> None:
    client = client_for(alice)
    refused = register(client, password="not the password")
    assert (refused.status_code, refused.json()["error"]) == (401, "INVALID_CREDENTIALS")
    wrong_code = key_create(client, code="000000")
    assert (wrong_code.status_code, wrong_code.json()["error"]) == (401, "TWO_FACTOR_FAILED")
    assert not Passkey.objects.exists()
    assert not ApiKey.objects.exists()


def test_credentials_added_with_a_totp_code_outlive_the_session(alice: User, client_for, monkeypatch) -> None:
    steps = Clock(monkeypatch)
    client = client_for(alice)
    secret = enable(client, steps)["secret"]
    steps.step()
    assert register(client, code=totp.code_at(secret, steps.now)).status_code == 201
    steps.step()
    assert key_create(client, code=totp.code_at(secret, steps.now)).status_code == 201
    assert list(Passkey.objects.values_list("session_id", flat=True)) == [None]
    assert list(ApiKey.objects.values_list("session_id", flat=True)) == [None]
    # A code is single use: the same one again proves nothing.
    assert key_create(client, code=totp.code_at(secret, steps.now)).json()["error"] == "TWO_FACTOR_FAILED"


def test_the_user_is_mailed_about_each_credential_added(alice: User, client_for) -> None:
    client = client_for(alice)
    assert register(client).status_code == 201
    assert key_create(client, password=PASSWORD).status_code == 201
    mails = list(OutboxMessage.objects.filter(recipient=alice.email).values_list("template", flat=True).order_by("pk"))
    assert mails == ["passkey_added", "api_key_added"]


def test_the_platforms_passkey_registration_without_a_password_still_works(alice: User, client_for) -> None:
    """PLATFORM.md §2: `{response, name?}` with the session's token is enough."""
    created = register(client_for(alice), name="Laptop")
    assert created.status_code == 201
    assert created.json()["passkey"]["friendlyName"] == "Laptop"


def test_sessions_ended_hooks_are_registered_by_both_apps() -> None:
    names = {function.__module__ for function in hooks._ON_SESSIONS_ENDED}
    assert {"passkeys.services", "spaces.services_api_keys"} <= names
