import base64
import io
import logging
import os
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import SigningKey, TwoFactor, User
from core.keyring import get_keyring
from core.rls import acting_as
from tests.support import PASSWORD, RunConcurrently, sign_in
from vault.models import Vault, VaultAudit

pytestmark = pytest.mark.django_db

BASE = "/api/v1/me/encryption-vault"
KEK_A = base64.b64encode(os.urandom(32)).decode()
KEK_B = base64.b64encode(os.urandom(32)).decode()


def audit_actions(user: User) -> list[str]:
    with acting_as(user.id):
        return list(VaultAudit.objects.filter(user=user).order_by("id").values_list("action", flat=True))


def vault_row(user: User) -> Vault | None:
    with acting_as(user.id):
        return Vault.objects.filter(user=user).first()


def wrapped_of(user: User) -> bytes:
    row = vault_row(user)
    assert row is not None
    return bytes(row.wrapped_mk or b"")


def recovery_body() -> dict[str, str]:
    return {"recoveryWrappedMk": base64.b64encode(os.urandom(48)).decode(), "recoveryIv": base64.b64encode(os.urandom(12)).decode()}


@pytest.fixture
def alice_api(alice: User, client_for) -> APIClient:
    return client_for(alice)


def test_every_route_needs_a_signed_in_user() -> None:
    client = APIClient()
    calls = [
        client.get(f"{BASE}/status"),
        client.post(f"{BASE}/init"),
        client.get(f"{BASE}/key"),
        client.post(f"{BASE}/rotate"),
        client.post(f"{BASE}/recovery-wrap", recovery_body(), format="json"),
        client.delete(f"{BASE}/recovery-wrap"),
        client.post(f"{BASE}/zero-knowledge", {"enable": True}, format="json"),
    ]
    assert [r.status_code for r in calls] == [401] * len(calls)
    assert {r.json()["error"] for r in calls} == {"UNAUTHORIZED"}


def test_init_is_idempotent_and_key_returns_the_same_master_key(alice: User, alice_api: APIClient) -> None:
    assert alice_api.get(f"{BASE}/status").json() == {
        "vaultExists": False,
        "hasRecoveryWrap": False,
        "zeroKnowledge": False,
        "recoverySetAt": None,
    }
    first = alice_api.post(f"{BASE}/init")
    assert first.status_code == 200
    assert first["Cache-Control"] == "no-store"
    body = first.json()
    assert set(body) == {"masterKey", "formatVersion", "kekId"}
    assert len(base64.b64decode(body["masterKey"])) == 32
    assert (body["formatVersion"], body["kekId"]) == (1, "env-v1")
    assert alice_api.post(f"{BASE}/init").json() == body
    assert alice_api.get(f"{BASE}/key").json() == body
    assert alice_api.get(f"{BASE}/status").json()["vaultExists"] is True
    assert audit_actions(alice) == ["init", "init", "fetch"]
    row = vault_row(alice)
    assert row is not None
    assert base64.b64decode(body["masterKey"]) not in bytes(row.wrapped_mk or b"")


def test_each_user_has_their_own_key(alice_api: APIClient, bob: User, client_for) -> None:
    assert alice_api.post(f"{BASE}/init").json()["masterKey"] != client_for(bob).post(f"{BASE}/init").json()["masterKey"]


def test_key_without_a_vault_is_404_with_one_failed_fetch_row(alice: User, alice_api: APIClient) -> None:
    response = alice_api.get(f"{BASE}/key")
    assert response.status_code == 404
    assert response.json()["error"] == "VAULT_NOT_INITIALISED"
    assert audit_actions(alice) == ["failed_fetch"]
    with acting_as(alice.id):
        assert VaultAudit.objects.get(user=alice).status == 404


def test_an_unwrap_failure_is_503_with_one_failed_fetch_row(alice: User, alice_api: APIClient, settings) -> None:
    alice_api.post(f"{BASE}/init")
    settings.MANA_AUTH_KEK, settings.MANA_AUTH_KEK_ID = KEK_B, "kek-b"  # the KEK that wrapped it is gone
    response = alice_api.get(f"{BASE}/key")
    assert response.status_code == 503
    assert response.json()["error"] == "SERVICE_UNAVAILABLE"
    assert "KEK" not in response.content.decode()
    assert audit_actions(alice) == ["init", "failed_fetch"]
    with acting_as(alice.id):
        assert VaultAudit.objects.filter(user=alice, action="failed_fetch").get().status == 503


def test_rotate_makes_a_new_key_and_clears_the_recovery_wrap(alice: User, alice_api: APIClient) -> None:
    old = alice_api.post(f"{BASE}/init").json()["masterKey"]
    assert alice_api.post(f"{BASE}/recovery-wrap", recovery_body(), format="json").json() == {"ok": True}
    rotated = alice_api.post(f"{BASE}/rotate").json()
    assert rotated["masterKey"] != old
    assert alice_api.get(f"{BASE}/key").json()["masterKey"] == rotated["masterKey"]
    assert alice_api.get(f"{BASE}/status").json()["hasRecoveryWrap"] is False
    row = vault_row(alice)
    assert row is not None
    assert row.rotated_at is not None


def test_rotate_without_a_vault_initialises_one(alice: User, alice_api: APIClient) -> None:
    key = alice_api.post(f"{BASE}/rotate").json()["masterKey"]
    assert alice_api.get(f"{BASE}/key").json()["masterKey"] == key


def test_recovery_wrap_validation(alice_api: APIClient) -> None:
    no_vault = alice_api.post(f"{BASE}/recovery-wrap", recovery_body(), format="json")
    assert no_vault.status_code == 404
    assert no_vault.json()["error"] == "VAULT_NOT_INITIALISED"
    alice_api.post(f"{BASE}/init")
    for body, field in (
        ({**recovery_body(), "recoveryIv": base64.b64encode(os.urandom(16)).decode()}, "recoveryIv"),
        ({**recovery_body(), "recoveryWrappedMk": base64.b64encode(os.urandom(32)).decode()}, "recoveryWrappedMk"),
        ({**recovery_body(), "recoveryWrappedMk": "not base64 !!"}, "recoveryWrappedMk"),
        ({"recoveryIv": base64.b64encode(os.urandom(12)).decode()}, "recoveryWrappedMk"),
    ):
        response = alice_api.post(f"{BASE}/recovery-wrap", body, format="json")
        assert response.status_code == 400
        assert response.json()["error"] == "VALIDATION"
        assert list(response.json()["fields"]) == [field]


def test_zero_knowledge_round_trip(alice: User, alice_api: APIClient) -> None:
    master_key = alice_api.post(f"{BASE}/init").json()["masterKey"]
    missing = alice_api.post(f"{BASE}/zero-knowledge", {"enable": True}, format="json")
    assert missing.status_code == 400
    assert missing.json()["error"] == "RECOVERY_WRAP_MISSING"

    recovery = recovery_body()
    alice_api.post(f"{BASE}/recovery-wrap", recovery, format="json")
    assert alice_api.post(f"{BASE}/zero-knowledge", {"enable": True}, format="json").json() == {"ok": True, "zeroKnowledge": True}
    row = vault_row(alice)
    assert row is not None
    assert (row.wrapped_mk, row.mk_iv, row.kek_id, row.zero_knowledge) == (None, None, None, True)
    key = alice_api.get(f"{BASE}/key").json()
    assert key == {
        "requiresRecoveryCode": True,
        "recoveryWrappedMk": recovery["recoveryWrappedMk"],
        "recoveryIv": recovery["recoveryIv"],
        "formatVersion": 1,
    }
    assert alice_api.post(f"{BASE}/init").json() == key  # still idempotent
    for call, code in ((alice_api.post(f"{BASE}/rotate"), "ZK_ROTATE_FORBIDDEN"), (alice_api.delete(f"{BASE}/recovery-wrap"), "ZK_ACTIVE")):
        assert call.status_code == 409
        assert call.json()["error"] == code

    no_key = alice_api.post(f"{BASE}/zero-knowledge", {"enable": False}, format="json")
    assert no_key.status_code == 400
    assert list(no_key.json()["fields"]) == ["masterKey"]
    assert alice_api.post(f"{BASE}/zero-knowledge", {"enable": False, "masterKey": master_key}, format="json").json() == {
        "ok": True,
        "zeroKnowledge": False,
    }
    assert alice_api.get(f"{BASE}/key").json()["masterKey"] == master_key
    assert set(audit_actions(alice)) == {"init", "recovery_set", "zk_enable", "fetch", "rotate", "recovery_clear", "zk_disable"}


def test_clearing_the_recovery_wrap(alice_api: APIClient) -> None:
    alice_api.post(f"{BASE}/init")
    alice_api.post(f"{BASE}/recovery-wrap", recovery_body(), format="json")
    assert alice_api.get(f"{BASE}/status").json()["hasRecoveryWrap"] is True
    assert alice_api.delete(f"{BASE}/recovery-wrap").json() == {"ok": True}
    assert alice_api.get(f"{BASE}/status").json()["hasRecoveryWrap"] is False


@pytest.mark.parametrize(
    "state",
    [
        {"wrapped_mk": None, "mk_iv": None, "kek_id": None},  # no wrap at all
        {"mk_iv": None},  # ciphertext without IV
        {"kek_id": None},  # server wrap without its KEK id
        {"recovery_wrapped_mk": b"x" * 48},  # recovery ciphertext without IV
        {"zero_knowledge": True},  # zero-knowledge while the server can still unwrap
        {"mk_iv": b"short"},  # an IV that is not 12 bytes
    ],
)
def test_the_database_refuses_inconsistent_vaults(alice: User, alice_api: APIClient, state: dict[str, Any]) -> None:
    alice_api.post(f"{BASE}/init")
    with pytest.raises(IntegrityError), acting_as(alice.id):
        Vault.objects.filter(user=alice).update(**state)


def test_kek_rotation_keeps_every_key(make_user, client_for, settings) -> None:
    settings.MANA_AUTH_KEK, settings.MANA_AUTH_KEK_ID, settings.MANA_AUTH_OLD_KEKS = KEK_A, "kek-a", ""
    users = [make_user(f"user{n}@example.com") for n in range(3)]
    keys = {user.id: client_for(user).post(f"{BASE}/init").json()["masterKey"] for user in users}
    totp_secret = client_for(users[0]).post("/api/v1/auth/two-factor/enable", {"password": PASSWORD}, format="json").json()["secret"]

    settings.MANA_AUTH_KEK, settings.MANA_AUTH_KEK_ID, settings.MANA_AUTH_OLD_KEKS = KEK_B, "kek-b", f"kek-a:{KEK_A}"
    assert {user.id: client_for(user).get(f"{BASE}/key").json()["masterKey"] for user in users} == keys

    out = io.StringIO()
    call_command("rewrap_secrets", "--batch-size", "2", stdout=out)
    assert "Done: 3 of 3 vaults, 1 JWT signing keys, 0 OIDC signing keys, 1 TOTP secrets" in out.getvalue()
    assert {vault_row(user).kek_id for user in users} == {"kek-b"}  # type: ignore[union-attr]
    assert TwoFactor.objects.get().secret_wrapped.startswith("kw1:kek-b:")
    assert SigningKey.objects.get().private_key_wrapped.startswith("kw1:kek-b:")

    settings.MANA_AUTH_OLD_KEKS = ""  # KEK A is gone for good
    assert {user.id: client_for(user).get(f"{BASE}/key").json()["masterKey"] for user in users} == keys
    before = {user.id: wrapped_of(user) for user in users}
    again = io.StringIO()
    call_command("rewrap_secrets", stdout=again)
    assert "Done: 0 of 3 vaults, 0 JWT signing keys, 0 OIDC signing keys, 0 TOTP secrets, 0 outbox messages" in again.getvalue()
    assert (
        get_keyring().unwrap_text(TwoFactor.objects.get().secret_wrapped, aad=f"totp-secret:{users[0].id}".encode()).decode() == totp_secret
    )
    assert {user.id: wrapped_of(user) for user in users} == before


def test_no_log_line_or_other_answer_carries_the_master_key(alice: User, alice_api: APIClient, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    master_key = alice_api.post(f"{BASE}/init").json()["masterKey"]
    raw = base64.b64decode(master_key)
    others = [
        alice_api.get(f"{BASE}/status"),
        alice_api.post(f"{BASE}/recovery-wrap", recovery_body(), format="json"),
        alice_api.get("/api/v1/auth/security-events"),
        alice_api.post(f"{BASE}/zero-knowledge", {"enable": False, "masterKey": "x"}, format="json"),
    ]
    for response in others:
        assert master_key not in response.content.decode()
    text = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    for form in (master_key, raw.hex(), repr(raw)):
        assert form not in text


def test_deleting_the_user_deletes_the_vault_and_its_audit(alice: User, alice_api: APIClient) -> None:
    alice_api.post(f"{BASE}/init")
    user_id = alice.id
    assert alice_api.delete("/api/v1/auth/account", {"password": "correct horse battery staple"}, format="json").status_code == 200
    with acting_as(user_id):
        assert not Vault.objects.filter(user_id=user_id).exists()
        assert not VaultAudit.objects.filter(user_id=user_id).exists()


def test_an_empty_user_id_is_refused_before_any_sql(django_assert_num_queries) -> None:
    with django_assert_num_queries(0), pytest.raises(ValueError, match="user id"), acting_as(""):
        pass


@pytest.mark.postgres
def test_row_level_security_scopes_every_read_and_write(alice: User, bob: User, client_for) -> None:
    client_for(alice).post(f"{BASE}/init")
    client_for(bob).post(f"{BASE}/init")
    for table in ("vault_vault", "vault_vaultaudit"):
        with acting_as(alice.id), connection.cursor() as cursor:
            cursor.execute(f"SELECT user_id FROM {table}")  # noqa: S608 - fixed table names
            assert {row[0] for row in cursor.fetchall()} == {alice.id}
            cursor.execute(f"UPDATE {table} SET user_id = user_id WHERE user_id = %s", [bob.id])  # noqa: S608
            assert cursor.rowcount == 0
            cursor.execute(f"DELETE FROM {table} WHERE user_id = %s", [bob.id])  # noqa: S608
            assert cursor.rowcount == 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.current_user_id', '', true)")
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            assert cursor.fetchone() == (0,)
    with acting_as(bob.id):
        assert Vault.objects.count() == 1
        assert VaultAudit.objects.filter(user=bob).count() == 1


@pytest.mark.postgres
def test_row_level_security_refuses_writing_a_row_for_someone_else(alice: User, bob: User) -> None:
    with pytest.raises(Exception, match="row-level security"), acting_as(alice.id):
        VaultAudit.objects.create(user=bob, action="fetch", status=200)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_inits_create_one_key(make_user, run_concurrently: RunConcurrently) -> None:
    user = make_user("init@example.com")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(APIClient(), user.email)['accessToken']}")
    answers: list[Any] = run_concurrently(lambda n: client.post(f"{BASE}/init"), 10)
    assert [r.status_code for r in answers] == [200] * 10
    assert len({r.json()["masterKey"] for r in answers}) == 1
    with acting_as(user.id):
        assert Vault.objects.count() == 1


@pytest.mark.postgres
def test_a_key_fetch_is_two_statements_that_act_as_the_user_without_a_transaction(alice: User, alice_api: APIClient) -> None:
    alice_api.post("/api/v1/me/encryption-vault/init")
    with CaptureQueriesContext(connection) as captured:
        assert alice_api.get("/api/v1/me/encryption-vault/key").status_code == 200
    vault_statements = [query["sql"] for query in captured.captured_queries if '"vault_' in query["sql"]]
    assert len(vault_statements) == 2
    read, write = vault_statements
    assert 'FROM "vault_vault"' in read and "INSERT" not in read
    assert 'INSERT INTO "vault_vaultaudit"' in write
    for statement in (read, write):  # each makes the setting its policies need
        assert statement.startswith("WITH acting AS MATERIALIZED (SELECT set_config('app.current_user_id'")
    # No transaction of its own: inside the test's, an atomic block would have been a savepoint.
    assert not [query for query in captured.captured_queries if "SAVEPOINT" in query["sql"]]
    assert audit_actions(alice)[-1] == VaultAudit.Action.FETCH
