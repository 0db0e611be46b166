import json
import os
import subprocess
import sys
from typing import Any

import jwt as pyjwt
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Session, User
from core import clock, ratelimit
from core.models import SecurityEvent
from passkeys import webauthn as passkey_webauthn
from passkeys.models import Passkey
from passkeys.services import FAILURE_LIMIT
from tests.passkeys.authenticator import SoftAuthenticator
from tests.support import PASSWORD, REPO, redis_commands_sent, sign_in

pytestmark = pytest.mark.django_db

ORIGIN = "http://localhost:8000"
BASE = "/api/v1/auth/passkeys"


def register(client: APIClient, authenticator: SoftAuthenticator, **body: Any) -> Any:
    options = client.post(f"{BASE}/register/options").json()
    response = authenticator.create(options=options, origin=ORIGIN)
    return client.post(f"{BASE}/register/verify", {"response": response, **body}, format="json")


def assertion(authenticator: SoftAuthenticator, email: str | None = None, client: APIClient | None = None, **kwargs: Any) -> dict[str, Any]:
    options = (client or APIClient()).post(f"{BASE}/authenticate/options", {"email": email} if email else {}, format="json").json()
    return authenticator.get(options=options, origin=kwargs.pop("origin", ORIGIN), **kwargs)


def verify(response: dict[str, Any], client: APIClient | None = None) -> Any:
    return (client or APIClient()).post(f"{BASE}/authenticate/verify", {"response": response}, format="json")


@pytest.fixture
def alice_key(alice: User, client_for) -> SoftAuthenticator:
    authenticator = SoftAuthenticator()
    assert register(client_for(alice), authenticator).status_code == 201
    return authenticator


def test_register_list_and_sign_in_with_tokens_that_verify_against_the_jwks(alice: User, client_for) -> None:
    client = client_for(alice)
    authenticator = SoftAuthenticator()
    created = register(client, authenticator, name="Laptop")
    assert created.status_code == 201
    passkey = created.json()["passkey"]
    assert set(passkey) == {"id", "friendlyName", "createdAt", "lastUsedAt", "deviceType", "backedUp", "transports", "aaguid"}
    assert (passkey["friendlyName"], passkey["deviceType"], passkey["backedUp"], passkey["transports"]) == (
        "Laptop",
        "single_device",
        False,
        ["internal"],
    )
    assert client.get(BASE).json() == [passkey]  # a bare array (PLATFORM.md §2)
    assert SecurityEvent.objects.filter(type="PASSKEY_REGISTERED", user=alice).count() == 1

    signed_in = verify(assertion(authenticator, alice.email))
    assert signed_in.status_code == 200
    body = signed_in.json()
    assert {"user", "accessToken", "refreshToken", "tokenType", "expiresIn", "deviceToken"} <= set(body)
    jwks = APIClient().get("/api/v1/auth/jwks").json()
    [key] = jwks["keys"]
    claims = pyjwt.decode(body["accessToken"], pyjwt.PyJWK(key).key, algorithms=["EdDSA"], audience="mana")
    assert claims["sub"] == alice.id
    assert Session.objects.get(pk=claims["sid"]).method == "passkey"

    discoverable = verify(assertion(authenticator))  # no email: usernameless / conditional UI
    assert discoverable.status_code == 200
    assert discoverable.json()["user"]["id"] == alice.id
    stored = Passkey.objects.get(user=alice)
    assert stored.sign_count == 2
    assert stored.last_used_at is not None


def test_registration_excludes_existing_credentials_and_prefers_resident_keys(
    alice: User, alice_key: SoftAuthenticator, client_for
) -> None:
    options = client_for(alice).post(f"{BASE}/register/options").json()
    assert [c["id"] for c in options["excludeCredentials"]] == [alice_key.credentials[0].credential_id]
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["attestation"] == "none"
    assert options["rp"]["id"] == "localhost"


def test_name_comes_from_the_aaguid_when_none_is_given(alice: User, client_for) -> None:
    icloud = SoftAuthenticator(
        aaguid=bytes.fromhex("fbfc3007154e4ecc8c0b6e020557d7bd"), sign_count_step=0, backup_eligible=True, backed_up=True
    )
    passkey = register(client_for(alice), icloud).json()["passkey"]
    assert (passkey["friendlyName"], passkey["deviceType"], passkey["backedUp"]) == ("iCloud Keychain", "multi_device", True)
    assert passkey["aaguid"] == "fbfc3007-154e-4ecc-8c0b-6e020557d7bd"
    plain = register(client_for(alice), SoftAuthenticator()).json()["passkey"]
    assert (plain["friendlyName"], plain["aaguid"]) == ("Passkey", "")


def test_a_synced_passkey_that_always_counts_zero_is_accepted(alice: User, client_for) -> None:
    synced = SoftAuthenticator(sign_count_step=0, backup_eligible=True, backed_up=True)
    register(client_for(alice), synced)
    assert [verify(assertion(synced, alice.email)).status_code for _ in range(3)] == [200, 200, 200]


def test_a_sign_count_going_backwards_is_refused_and_recorded(alice: User, alice_key: SoftAuthenticator) -> None:
    assert verify(assertion(alice_key, alice.email)).status_code == 200
    assert verify(assertion(alice_key, alice.email)).status_code == 200
    alice_key.set_sign_count(alice_key.credentials[0].credential_id, 0)  # a clone, one step behind
    refused = verify(assertion(alice_key, alice.email))
    assert refused.status_code == 401
    assert refused.json()["error"] == "PASSKEY_VERIFICATION_FAILED"
    assert SecurityEvent.objects.filter(type="PASSKEY_CLONE_SUSPECTED", user=alice).count() == 1


def failing_cases(alice: User, alice_key: SoftAuthenticator, bob_key: SoftAuthenticator, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    replayed = assertion(alice_key, alice.email)
    assert verify(replayed).status_code == 200
    stale = assertion(alice_key, alice.email)
    return {
        "replayed assertion": lambda: replayed,
        "challenge older than five minutes": lambda: (monkeypatch.setattr(clock, "timestamp", lambda: 10**10), stale)[1],
        "another origin": lambda: assertion(alice_key, alice.email, origin="https://evil.example"),
        "another rp id": lambda: assertion(alice_key, alice.email, rp_id="evil.example"),
        "signature by another key": lambda: alice_key.sign_with_other_key(assertion(alice_key, alice.email)),
        "another user's credential": lambda: assertion(bob_key, alice.email, credential_id=bob_key.credentials[0].credential_id),
    }


@pytest.mark.parametrize(
    "case",
    [
        "replayed assertion",
        "challenge older than five minutes",
        "another origin",
        "another rp id",
        "signature by another key",
        "another user's credential",
    ],
)
def test_bad_assertions_fail_without_a_session(
    case: str, alice: User, bob: User, alice_key: SoftAuthenticator, client_for, monkeypatch
) -> None:
    bob_key = SoftAuthenticator()
    register(client_for(bob), bob_key)
    response = failing_cases(alice, alice_key, bob_key, monkeypatch)[case]()
    sessions_before = Session.objects.count()
    failures_before = SecurityEvent.objects.filter(type="PASSKEY_LOGIN_FAILURE").count()
    refused = verify(response)
    assert refused.status_code == 401
    assert refused.json()["error"] == "PASSKEY_VERIFICATION_FAILED"
    assert Session.objects.count() == sessions_before
    assert SecurityEvent.objects.filter(type="PASSKEY_LOGIN_FAILURE").count() == failures_before + 1


def test_malformed_and_cancelled_responses(alice: User, alice_key: SoftAuthenticator) -> None:
    missing = APIClient().post(f"{BASE}/authenticate/verify", {}, format="json")
    assert missing.status_code == 400
    assert list(missing.json()["fields"]) == ["response"]
    garbage = verify({"id": "abc", "response": {"clientDataJSON": "not base64!"}})
    assert garbage.status_code == 400
    assert garbage.json()["error"] == "VALIDATION"
    assert garbage.json()["fields"]
    for body in ({"cancelled": True}, {"error": "NotAllowedError"}):
        cancelled = APIClient().post(f"{BASE}/authenticate/verify", body, format="json")
        assert cancelled.status_code == 400
        assert cancelled.json()["error"] == "PASSKEY_CANCELLED"


@pytest.mark.usefixtures("one_rate_window")
def test_options_are_rate_limited_per_ip() -> None:
    codes = [APIClient().post(f"{BASE}/authenticate/options", {}, format="json").status_code for _ in range(21)]
    assert codes == [200] * 20 + [429]
    refused = APIClient().post(f"{BASE}/authenticate/options", {}, format="json")
    assert refused.json()["error"] == "RATE_LIMITED"
    assert refused.json()["retryAfterSec"] >= 1
    assert refused.json()["retryAfterSec"] <= 60


@pytest.mark.usefixtures("one_rate_window")
def test_options_refused_by_the_limit_store_no_challenge_and_look_no_address_up(alice: User, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    options_for = passkey_webauthn.authentication_options

    def recorded(**kwargs: Any) -> passkey_webauthn.Options:
        options = options_for(**kwargs)
        made.append(options.challenge)
        return options

    monkeypatch.setattr(passkey_webauthn, "authentication_options", recorded)
    codes = [APIClient().post(f"{BASE}/authenticate/options", {}, format="json").status_code for _ in range(21)]
    assert codes == [200] * 20 + [429]
    stored = [cache.get(f"webauthn-challenge:{challenge}") is not None for challenge in made]
    assert stored == [True] * 20 + [False]
    with CaptureQueriesContext(connection) as captured:
        refused = APIClient().post(f"{BASE}/authenticate/options", {"email": alice.email}, format="json")
    assert refused.status_code == 429
    assert captured.captured_queries == []  # the limit comes before the address's lookup


@pytest.mark.redis
def test_discoverable_options_are_one_round_trip_to_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The challenge goes with the limit's count: one script, not a count and then a SET."""
    assert APIClient().post(f"{BASE}/authenticate/options", {}, format="json").status_code == 200  # loads the script
    sent = redis_commands_sent(monkeypatch)
    options = APIClient().post(f"{BASE}/authenticate/options", {}, format="json")
    assert options.status_code == 200
    assert sent == ["EVALSHA"]
    assert cache.get(f"webauthn-challenge:{options.json()['challenge']}")["purpose"] == "authenticate"


@pytest.mark.usefixtures("one_rate_window")
def test_ten_failures_block_further_failures_on_the_credential_for_five_minutes(
    alice: User, alice_key: SoftAuthenticator, monkeypatch
) -> None:
    credential_id = alice_key.credentials[0].credential_id
    for _ in range(10):
        response = alice_key.sign_with_other_key(assertion(alice_key, alice.email))
        assert verify(response).status_code == 401
    blocked = verify(alice_key.sign_with_other_key(assertion(alice_key, alice.email)))  # garbage, refused by the block
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "RATE_LIMITED"
    assert 290 <= blocked.json()["retryAfterSec"] <= 300

    later = clock.timestamp() + 301
    monkeypatch.setattr(clock, "timestamp", lambda: later)
    assert verify(alice_key.sign_with_other_key(assertion(alice_key, alice.email))).status_code == 401  # the block is over
    assert verify(assertion(alice_key, alice.email)).status_code == 200
    assert ratelimit.hit(FAILURE_LIMIT, credential_id, now=later).count == 1  # the success emptied the bucket


@pytest.mark.usefixtures("one_rate_window")
def test_a_sign_in_clears_the_failures_before_it_and_leaves_an_empty_count_alone(
    alice: User, alice_key: SoftAuthenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential_id = alice_key.credentials[0].credential_id
    assert verify(alice_key.sign_with_other_key(assertion(alice_key, alice.email))).status_code == 401
    cleared: list[str] = []
    reset = ratelimit.reset

    def reset_told(limit: ratelimit.Limit, identity: str, **options: Any) -> None:
        cleared.append(identity)
        reset(limit, identity, **options)

    monkeypatch.setattr(ratelimit, "reset", reset_told)
    assert verify(assertion(alice_key, alice.email)).status_code == 200  # one failure before it: cleared
    assert cleared == [credential_id]
    assert verify(assertion(alice_key, alice.email)).status_code == 200  # none: no round trip to clear nothing
    assert cleared == [credential_id]
    assert ratelimit.hit(FAILURE_LIMIT, credential_id).count == 1


def test_password_lockout_and_passkeys_are_independent(alice: User, alice_key: SoftAuthenticator) -> None:
    for _ in range(5):
        APIClient().post("/api/v1/auth/login", {"email": alice.email, "password": "wrong password!"}, format="json")
    assert APIClient().post("/api/v1/auth/login", {"email": alice.email, "password": PASSWORD}, format="json").status_code == 429
    assert verify(assertion(alice_key, alice.email)).status_code == 200


def test_failed_passkeys_do_not_touch_the_password_lockout(alice: User, alice_key: SoftAuthenticator) -> None:
    for _ in range(10):
        verify(alice_key.sign_with_other_key(assertion(alice_key, alice.email)))
    assert APIClient().post("/api/v1/auth/login", {"email": alice.email, "password": PASSWORD}, format="json").status_code == 200


def test_rename_and_delete_are_the_owners_alone(alice: User, charlie: User, alice_key: SoftAuthenticator, client_for) -> None:
    owner, stranger = client_for(alice), client_for(charlie)
    passkey_id = owner.get(BASE).json()[0]["id"]
    assert stranger.get(BASE).json() == []
    for response in (stranger.patch(f"{BASE}/{passkey_id}", {"name": "mine"}, format="json"), stranger.delete(f"{BASE}/{passkey_id}")):
        assert response.status_code == 404
        assert response.json()["error"] == "NOT_FOUND"
    assert Passkey.objects.get(pk=passkey_id).name == "Passkey"

    renamed = owner.patch(f"{BASE}/{passkey_id}", {"friendlyName": "Work laptop"}, format="json")
    assert renamed.json()["passkey"]["friendlyName"] == "Work laptop"
    too_long = owner.patch(f"{BASE}/{passkey_id}", {"name": "x" * 65}, format="json")
    assert too_long.status_code == 400
    assert list(too_long.json()["fields"]) == ["name"]
    assert owner.delete(f"{BASE}/{passkey_id}").json() == {"success": True}
    assert not Passkey.objects.filter(pk=passkey_id).exists()
    assert set(SecurityEvent.objects.filter(user=alice, type__startswith="PASSKEY_").values_list("type", flat=True)) == {
        "PASSKEY_REGISTERED", "PASSKEY_RENAMED", "PASSKEY_DELETED",
    }  # fmt: skip


def test_anonymous_callers_cannot_manage_passkeys() -> None:
    for response in (APIClient().get(BASE), APIClient().post(f"{BASE}/register/options"), APIClient().delete(f"{BASE}/some-id")):
        assert response.status_code == 401
        assert response.json()["error"] == "UNAUTHORIZED"


def test_a_registration_challenge_belongs_to_its_user(alice: User, bob: User, client_for) -> None:
    authenticator = SoftAuthenticator()
    options = client_for(alice).post(f"{BASE}/register/options").json()
    response = authenticator.create(options=options, origin=ORIGIN)
    stolen = client_for(bob).post(f"{BASE}/register/verify", {"response": response}, format="json")
    assert stolen.status_code == 401
    assert stolen.json()["error"] == "PASSKEY_VERIFICATION_FAILED"
    assert not Passkey.objects.exists()


def test_capability_and_switching_passkeys_off(alice: User, client_for, settings) -> None:
    assert APIClient().get(f"{BASE}/capability").json() == {"enabled": True, "conditionalUIAvailable": True, "rpId": "localhost"}
    settings.PASSKEYS_ENABLED = False
    assert APIClient().get(f"{BASE}/capability").json()["enabled"] is False
    for response in (client_for(alice).get(BASE), APIClient().post(f"{BASE}/authenticate/options", {}, format="json")):
        assert response.status_code == 404
        assert response.json()["error"] == "PASSKEY_NOT_ENABLED"


def test_web_login_page_asks_for_discoverable_options_with_no_body(alice: User, alice_key: SoftAuthenticator) -> None:
    for response in (APIClient().post(f"{BASE}/authenticate/options"), APIClient().post(f"{BASE}/authenticate/options", {}, format="json")):
        assert response.status_code == 200
        options = response.json()  # raw PublicKeyCredentialRequestOptionsJSON, no wrapper
        assert {"challenge", "rpId"} <= set(options)
        assert options.get("allowCredentials", []) == []
    assert verify(alice_key.get(options=options, origin=ORIGIN)).json()["user"]["id"] == alice.id


def test_web_settings_page_registers_lists_and_renames_a_passkey(alice: User, client_for) -> None:
    browser = APIClient()
    assert browser.post("/api/v1/auth/login", {"email": alice.email, "password": PASSWORD}, format="json").status_code == 200
    options = browser.post(f"{BASE}/register/options", HTTP_ORIGIN="http://localhost:5173")  # by the session cookie
    assert options.status_code == 200
    assert {"challenge", "rp", "user", "pubKeyCredParams"} <= set(options.json())  # raw creation options
    response = SoftAuthenticator().create(options=options.json(), origin=ORIGIN)
    created = browser.post(
        f"{BASE}/register/verify", {"response": response, "name": "Phone"}, format="json", HTTP_ORIGIN="http://localhost:5173"
    )
    assert created.status_code == 201
    bearer = client_for(alice)
    (listed,) = bearer.get(BASE).json()
    assert (listed["friendlyName"], listed["deviceType"], listed["backedUp"]) == ("Phone", "single_device", False)
    assert listed["lastUsedAt"] is None
    assert {"id", "friendlyName", "deviceType", "backedUp", "createdAt", "lastUsedAt"} <= set(listed)
    assert bearer.patch(f"{BASE}/{listed['id']}", {"friendlyName": "My phone"}, format="json").status_code == 200
    assert bearer.patch(f"{BASE}/{listed['id']}", {"name": "Old phone"}, format="json").status_code == 200
    assert Passkey.objects.get(pk=listed["id"]).name == "Old phone"
    assert bearer.patch(f"{BASE}/{listed['id']}", {}, format="json").json()["error"] == "VALIDATION"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_options_from_one_process_verify_in_another(make_user) -> None:
    """Nothing of the ceremony lives in a process: options come from a separate Python process
    that shares only the database and the cache with this one."""
    user = make_user("proc@example.com")
    authenticator = SoftAuthenticator()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(APIClient(), user.email)['accessToken']}")
    assert register(client, authenticator).status_code == 201
    db = connection.settings_dict
    code = (
        "import django, json; django.setup(); from django.test import Client;"
        "print(json.dumps(Client(SERVER_NAME='localhost').post('/api/v1/auth/passkeys/authenticate/options', {'email': 'proc@example.com'},"
        " content_type='application/json').json()))"
    )
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        MANA_TEST_CACHE_PREFIX=cache.key_prefix,
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout.strip().splitlines()[-1])
    assert [c["id"] for c in options["allowCredentials"]] == [authenticator.credentials[0].credential_id]
    assert verify(authenticator.get(options=options, origin=ORIGIN)).status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_passkey_sign_in_is_one_read_and_one_write_with_no_transaction_around_them(alice: User, alice_key: SoftAuthenticator) -> None:
    """The credential's read, then the counter with the session, tokens and event in one statement:
    a BEGIN and a COMMIT around that one statement would be two more round trips for nothing."""
    response = assertion(alice_key, alice.email)
    with CaptureQueriesContext(connection) as captured:
        answer = verify(response)
    assert answer.status_code == 200
    assert [query["sql"].split(" ", 1)[0] for query in captured.captured_queries] == ["SELECT", "WITH"]
    assert Passkey.objects.get(user=alice).sign_count == 1
    assert Session.objects.filter(user=alice, method="passkey").count() == 1
    assert SecurityEvent.objects.filter(user=alice, type="LOGIN_SUCCESS", metadata__method="passkey").count() == 1
