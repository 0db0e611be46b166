import base64
import io
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from core.compiled import row_insert
from core.models import SecurityEvent
from core.origin import NO_ORIGIN
from core.rls import acting_as
from core.services import security_event_write
from grants import consumer, crypto
from grants.models import DecryptAudit, Grant
from tests.support import AI_PRIVATE, AI_PUBLIC, keypair, manage, production_env
from vault.models import VaultAudit
from vault.services import master_key_delegate

pytestmark = pytest.mark.django_db

SERVICE_KEY = "grants-test-service-key"
OTHER_PRIVATE, _ = keypair()


@pytest.fixture
def configured(settings: Any) -> None:
    settings.MANA_AI_PUBLIC_KEY_PEM = AI_PUBLIC
    settings.MANA_SERVICE_KEY = SERVICE_KEY


@pytest.fixture
def alice_api(alice: User, client_for) -> APIClient:
    client = client_for(alice)
    client.post("/api/v1/me/encryption-vault/init")
    return client


def issue(client: APIClient, **overrides: Any) -> Any:
    body = {"missionId": "mission-1", "tables": ["notes", "tasks"], "recordIds": ["notes:1", "tasks:7"]} | overrides
    return client.post("/api/v1/me/ai-mission-grant", body, format="json")


def master_key(client: APIClient) -> bytes:
    return base64.b64decode(client.get("/api/v1/me/encryption-vault/key").json()["masterKey"])


@pytest.mark.parametrize(
    ("ikm", "salt", "info", "length", "okm"),
    [
        (  # RFC 5869 A.1
            "0b" * 22, "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9", 42,
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        ),
        (  # RFC 5869 A.2
            bytes(range(0x00, 0x50)).hex(), bytes(range(0x60, 0xB0)).hex(), bytes(range(0xB0, 0x100)).hex(), 82,
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
        ),
        (  # RFC 5869 A.3
            "0b" * 22, "", "", 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
        ),
    ],
)  # fmt: skip
def test_hkdf_matches_rfc_5869(ikm: str, salt: str, info: str, length: int, okm: str) -> None:
    assert crypto.hkdf_sha256(ikm=bytes.fromhex(ikm), salt=bytes.fromhex(salt), info=bytes.fromhex(info), length=length).hex() == okm


def test_round_trip_through_the_consumer(alice: User, alice_api: APIClient, configured: None) -> None:
    response = issue(alice_api, tables=["tasks", "notes"], recordIds=["tasks:7", "notes:1"])
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    grant = response.json()
    assert set(grant) == {"grantId", "wrappedKey", "derivation", "issuedAt", "expiresAt"}
    issued = Grant.objects.get(pk=grant["grantId"])
    # ISO 8601 in UTC with a Z, as IssuedGrantSerializer documents and as the grant list writes them
    assert grant["issuedAt"] == issued.issued_at.isoformat().replace("+00:00", "Z")
    assert grant["expiresAt"] == issued.expires_at.isoformat().replace("+00:00", "Z")
    assert grant["derivation"] == {
        "version": "v1",
        "missionId": "mission-1",
        "tables": ["tasks", "notes"],
        "recordIds": ["tasks:7", "notes:1"],
    }

    unwrapped = consumer.unwrap_grant(grant, consumer.load_private_key(AI_PRIVATE))
    assert unwrapped.ok
    assert unwrapped.reason is None
    # Computed independently, as the TypeScript implementation does it.
    expected = crypto.hkdf_sha256(
        ikm=master_key(alice_api), salt=b"mission-1", info=b"mana-ai-mission-grant:v1:tables=notes,tasks:ids=notes:1,tasks:7"
    )
    assert unwrapped.key == expected

    same = consumer.unwrap_grant(issue(alice_api).json(), consumer.load_private_key(AI_PRIVATE))
    assert same.key == expected  # any order, same key
    more = consumer.unwrap_grant(
        issue(alice_api, recordIds=["notes:1", "tasks:7", "tasks:8"]).json(), consumer.load_private_key(AI_PRIVATE)
    )
    assert more.key != expected

    row = Grant.objects.get(pk=grant["grantId"])
    assert (row.user_id, row.mission_id, row.tables, row.record_count) == (alice.id, "mission-1", ["tasks", "notes"], 2)
    stored = json.dumps(list(Grant.objects.values()), default=str)
    assert grant["wrappedKey"] not in stored
    assert SecurityEvent.objects.filter(type="GRANT_ISSUED", user=alice).count() == 3
    with acting_as(alice.id):
        assert VaultAudit.objects.filter(user=alice, action="fetch", context__purpose="mission_grant").count() == 3


def test_the_consumer_checks_the_allowlist(alice_api: APIClient, configured: None) -> None:
    grant = issue(alice_api).json()
    assert consumer.record_not_allowed(grant, "notes", "1") is None
    assert consumer.record_not_allowed(grant, "notes", "2") == "record-not-in-grant-allowlist"
    assert consumer.record_not_allowed(grant, "calendar", "1") == "record-not-in-grant-allowlist"


def test_the_four_consumer_failures(alice_api: APIClient, configured: None) -> None:
    grant = issue(alice_api).json()
    key = consumer.load_private_key(AI_PRIVATE)
    assert consumer.unwrap_grant(grant, consumer.load_private_key(None)).reason == "not-configured"
    assert consumer.unwrap_grant(grant, consumer.load_private_key("not a pem")).reason == "not-configured"
    past = datetime.fromisoformat(grant["expiresAt"]) + timedelta(seconds=1)
    assert consumer.unwrap_grant(grant, key, now=past).reason == "expired"
    assert consumer.unwrap_grant(grant | {"expiresAt": "next tuesday"}, key).reason == "expired"
    assert consumer.unwrap_grant(grant | {"wrappedKey": grant["wrappedKey"][:-8]}, key).reason == "malformed"
    assert consumer.unwrap_grant(grant | {"wrappedKey": "%%%"}, key).reason == "malformed"
    assert consumer.unwrap_grant(grant, consumer.load_private_key(OTHER_PRIVATE)).reason == "wrap-rejected"


@pytest.mark.parametrize(
    ("ttl_ms", "expected"), [(1, timedelta(hours=1)), (90 * 86_400_000, timedelta(days=30)), (None, timedelta(days=7))]
)
def test_ttl_is_clamped(alice_api: APIClient, configured: None, ttl_ms: int | None, expected: timedelta) -> None:
    grant = issue(alice_api, **({} if ttl_ms is None else {"ttlMs": ttl_ms})).json()
    assert datetime.fromisoformat(grant["expiresAt"]) - datetime.fromisoformat(grant["issuedAt"]) == expected


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"missionId": ""}, "missionId"),
        ({"missionId": "m" * 201}, "missionId"),
        ({"tables": []}, "tables"),
        ({"tables": ["Notes!"]}, "tables"),
        ({"recordIds": []}, "recordIds"),
        ({"recordIds": ["calendar:1"]}, "recordIds"),
        ({"recordIds": ["notes"]}, "recordIds"),
        ({"recordIds": [f"notes:{n}" for n in range(1001)]}, "recordIds"),
        ({"ttlMs": -5}, "ttlMs"),
    ],
)
def test_bad_grant_requests(alice_api: APIClient, configured: None, overrides: dict[str, Any], field: str) -> None:
    response = issue(alice_api, **overrides)
    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION"
    assert field in {name.split(".")[0] for name in response.json()["fields"]}  # list items report as "tables.0"
    assert not Grant.objects.exists()


def test_not_configured_is_503_before_the_vault_is_read(alice: User, alice_api: APIClient, settings) -> None:
    settings.MANA_AI_PUBLIC_KEY_PEM = ""
    response = issue(alice_api)
    assert response.status_code == 503
    assert response.json()["error"] == "GRANT_NOT_CONFIGURED"
    with acting_as(alice.id):
        assert list(VaultAudit.objects.filter(user=alice).values_list("action", flat=True)) == ["init"]


def test_no_vault_and_zero_knowledge(alice: User, bob: User, client_for, configured: None) -> None:
    no_vault = issue(client_for(bob))
    assert no_vault.status_code == 404
    assert no_vault.json()["error"] == "VAULT_NOT_INITIALISED"
    client = client_for(alice)
    client.post("/api/v1/me/encryption-vault/init")
    recovery = {"recoveryWrappedMk": base64.b64encode(bytes(48)).decode(), "recoveryIv": base64.b64encode(bytes(12)).decode()}
    client.post("/api/v1/me/encryption-vault/recovery-wrap", recovery, format="json")
    client.post("/api/v1/me/encryption-vault/zero-knowledge", {"enable": True}, format="json")
    zk = issue(client)
    assert zk.status_code == 409
    assert zk.json()["error"] == "ZK_ACTIVE"


def test_anonymous_is_401(configured: None) -> None:
    for response in (
        issue(APIClient()),
        APIClient().get("/api/v1/me/ai-mission-grants"),
        APIClient().delete("/api/v1/me/ai-mission-grants/x"),
        APIClient().get("/api/v1/me/ai-audit"),
    ):
        assert response.status_code == 401
        assert response.json()["error"] == "UNAUTHORIZED"


def test_revocation(alice_api: APIClient, charlie: User, client_for, configured: None) -> None:
    grant_id = issue(alice_api).json()["grantId"]
    internal = APIClient()
    internal.credentials(HTTP_X_SERVICE_KEY=SERVICE_KEY)
    assert internal.get(f"/api/v1/internal/grants/{grant_id}").json()["active"] is True

    stranger = client_for(charlie).delete(f"/api/v1/me/ai-mission-grants/{grant_id}")
    assert stranger.status_code == 404
    assert stranger.json()["error"] == "NOT_FOUND"
    assert client_for(charlie).get("/api/v1/me/ai-mission-grants").json() == {"grants": []}

    assert alice_api.delete(f"/api/v1/me/ai-mission-grants/{grant_id}").json() == {"success": True}
    state = internal.get(f"/api/v1/internal/grants/{grant_id}").json()
    assert state["active"] is False
    assert state["revokedAt"] is not None
    [listed] = alice_api.get("/api/v1/me/ai-mission-grants").json()["grants"]
    assert listed["grantId"] == grant_id
    assert listed["revokedAt"] == state["revokedAt"]
    assert set(listed) == {"grantId", "missionId", "issuedAt", "expiresAt", "revokedAt"}
    assert SecurityEvent.objects.filter(type="GRANT_REVOKED").count() == 1


def test_internal_routes_need_the_service_key(configured: None) -> None:
    for headers in ({}, {"X-Service-Key": "wrong"}):
        response = APIClient().get("/api/v1/internal/grants/x", headers=headers)
        assert response.status_code == 401
    missing = APIClient().get("/api/v1/internal/grants/unknown", HTTP_X_SERVICE_KEY=SERVICE_KEY)
    assert missing.status_code == 404


def audit_body(user: User, **overrides: Any) -> dict[str, Any]:
    entries = [
        {"tableName": "notes", "recordId": "1", "status": "ok"},
        {"tableName": "notes", "recordId": "2", "status": "scope-violation", "reason": "record-not-in-grant-allowlist"},
    ]
    return {"userId": user.id, "missionId": "mission-1", "iterationId": "it-1", "entries": entries} | overrides


def test_decrypt_audit_is_written_by_the_service_and_read_by_the_owner(
    alice: User, alice_api: APIClient, bob: User, client_for, configured
) -> None:
    internal = APIClient()
    internal.credentials(HTTP_X_SERVICE_KEY=SERVICE_KEY)
    written = internal.post("/api/v1/internal/decrypt-audit", audit_body(alice, batchId="b-1"), format="json")
    assert written.status_code == 201
    assert written.json() == {"written": 2}
    replay = internal.post("/api/v1/internal/decrypt-audit", audit_body(alice, batchId="b-1"), format="json")
    assert replay.json() == {"written": 0}
    internal.post("/api/v1/internal/decrypt-audit", audit_body(bob, missionId="other"), format="json")

    entries = alice_api.get("/api/v1/me/ai-audit?missionId=mission-1").json()["entries"]
    assert len(entries) == 2
    assert set(entries[0]) == {"missionId", "iterationId", "tableName", "recordId", "status", "reason", "ts"}
    assert {e["status"] for e in entries} == {"ok", "scope-violation"}
    assert alice_api.get("/api/v1/me/ai-audit?limit=1").json()["entries"].__len__() == 1
    assert client_for(bob).get("/api/v1/me/ai-audit?missionId=mission-1").json() == {"entries": []}
    for query in ("limit=0", "limit=1001", "limit=abc"):
        bad = alice_api.get(f"/api/v1/me/ai-audit?{query}")
        assert bad.status_code == 400
        assert list(bad.json()["fields"]) == ["limit"]


def test_decrypt_audit_input_is_checked(alice: User, configured: None) -> None:
    internal = APIClient()
    internal.credentials(HTTP_X_SERVICE_KEY=SERVICE_KEY)
    bad_status = audit_body(alice, entries=[{"tableName": "notes", "recordId": "1", "status": "great"}])
    assert internal.post("/api/v1/internal/decrypt-audit", bad_status, format="json").status_code == 400
    too_many = audit_body(alice, entries=[{"tableName": "notes", "recordId": str(n), "status": "ok"} for n in range(501)])
    assert internal.post("/api/v1/internal/decrypt-audit", too_many, format="json").status_code == 400
    unknown_user = internal.post("/api/v1/internal/decrypt-audit", audit_body(alice, userId="nobody"), format="json")
    assert unknown_user.status_code == 404
    assert APIClient().post("/api/v1/internal/decrypt-audit", audit_body(alice), format="json").status_code == 401


def test_the_database_refuses_a_bad_status(alice: User) -> None:
    with pytest.raises(IntegrityError), acting_as(alice.id):
        DecryptAudit.objects.create(user=alice, mission_id="m", iteration_id="i", table_name="t", record_id="r", status="great")


@pytest.mark.postgres
def test_decrypt_audit_row_level_security(alice: User, bob: User, configured: None) -> None:
    internal = APIClient()
    internal.credentials(HTTP_X_SERVICE_KEY=SERVICE_KEY)
    internal.post("/api/v1/internal/decrypt-audit", audit_body(alice), format="json")
    internal.post("/api/v1/internal/decrypt-audit", audit_body(bob), format="json")
    with acting_as(alice.id), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT user_id FROM grants_decryptaudit")
        assert cursor.fetchall() == [(alice.id,)]
        cursor.execute("UPDATE grants_decryptaudit SET reason = 'x' WHERE user_id = %s", [bob.id])
        assert cursor.rowcount == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.current_user_id', '', true)")
        cursor.execute("SELECT count(*) FROM grants_decryptaudit")
        assert cursor.fetchone() == (0,)


def test_generate_ai_keypair_prints_a_usable_pair() -> None:
    out = io.StringIO()
    call_command("generate_ai_keypair", stdout=out)
    text = out.getvalue()
    private_pem = text[: text.index("-----END PRIVATE KEY-----") + len("-----END PRIVATE KEY-----")]
    public_pem = text[text.index("-----BEGIN PUBLIC KEY-----") :]
    private = consumer.load_private_key(private_pem)
    assert private is not None
    assert private.key_size == 3072
    assert crypto.load_public_key(public_pem).key_size == 3072


def test_a_weak_ai_key_is_refused_at_startup(tmp_path) -> None:
    _, weak_public = keypair(1024)
    result = manage("check", env=production_env(tmp_path, MANA_AI_PUBLIC_KEY_PEM=weak_public))
    assert result.returncode != 0
    assert "MANA_AI_PUBLIC_KEY_PEM is RSA-1024; at least 2048 bits are required." in result.stderr


@pytest.mark.django_db(transaction=True)  # in autocommit, as a request runs: a fetch opens no transaction of its own
def test_what_a_delegation_writes_commits_with_its_fetch_audit_or_not_at_all(alice: User, alice_api: APIClient) -> None:
    def fail(master_key: bytes) -> bytes:
        raise ValueError("the mission key could not be wrapped")

    along = [security_event_write(type="DELEGATION_ALONG", user_id=alice.id)]
    with pytest.raises(ValueError, match="could not be wrapped"):
        master_key_delegate(actor=alice, origin=NO_ORIGIN, context={"purpose": "mission_grant"}, along=along, use=fail)
    # Written only once `use` has returned: not at all.
    assert not SecurityEvent.objects.filter(type="DELEGATION_ALONG").exists()
    with acting_as(alice.id):
        actions = list(VaultAudit.objects.filter(user=alice).order_by("created_at", "id").values_list("action", "status"))
    assert actions[-1] == (VaultAudit.Action.FAILED_FETCH, 500)  # an unexpected error: 500, as the caller sees it
    assert VaultAudit.Action.FETCH not in [action for action, _ in actions[1:]]  # the init's audit row is first

    # The writes that go with the audit row: one of them refused, none is kept. A clashing event
    # is saved through the ORM after the statement; a clashing grant rides in it.
    taken = SecurityEvent.objects.create(type="ALREADY_THERE", user_id=alice.id)
    with acting_as(alice.id):
        held = Grant.objects.create(user=alice, mission_id="m", tables=["notes"], record_count=1, expires_at=timezone.now())
    for clash in (
        row_insert(SecurityEvent(pk=taken.pk, type="CLASH")),
        row_insert(Grant(id=held.id, user=alice, mission_id="clash", tables=[], record_count=0, expires_at=timezone.now())),
    ):
        along = [security_event_write(type="DELEGATION_WRITTEN", user_id=alice.id), clash]
        with pytest.raises(IntegrityError):
            master_key_delegate(actor=alice, origin=NO_ORIGIN, context={"purpose": "mission_grant"}, along=along, use=bytes)
        assert not SecurityEvent.objects.filter(type__in=["DELEGATION_WRITTEN", "CLASH"]).exists()
        with acting_as(alice.id):
            latest_failure = VaultAudit.objects.filter(user=alice).order_by("-created_at", "-id").values_list("action", flat=True)[0]
            assert not Grant.objects.filter(mission_id="clash").exists()
        assert latest_failure == VaultAudit.Action.FAILED_FETCH

    keys = master_key_delegate(
        actor=alice,
        origin=NO_ORIGIN,
        context={"purpose": "mission_grant"},
        along=[security_event_write(type="DELEGATED", user_id=alice.id)],
        use=bytes,
    )
    assert len(keys) == 32
    assert SecurityEvent.objects.filter(type="DELEGATED", user_id=alice.id).count() == 1
    with acting_as(alice.id):
        latest = VaultAudit.objects.filter(user=alice).order_by("-created_at", "-id").values_list("action", flat=True)[0]
    assert latest == VaultAudit.Action.FETCH


@pytest.mark.postgres
def test_a_grant_reads_the_vault_then_writes_its_rows_in_one_statement_without_a_transaction(
    alice: User, alice_api: APIClient, configured: None
) -> None:
    with CaptureQueriesContext(connection) as captured:
        assert issue(alice_api).status_code == 200
    touching = [query["sql"] for query in captured.captured_queries if '"vault_' in query["sql"] or '"grants_' in query["sql"]]
    assert len(touching) == 2
    read, write = touching
    assert 'FROM "vault_vault"' in read and "INSERT" not in read
    for part in ('INSERT INTO "grants_grant"', 'INSERT INTO "core_securityevent"', 'INSERT INTO "vault_vaultaudit"'):
        assert part in write
    for statement in (read, write):  # each makes the setting its policies need
        assert statement.startswith("WITH acting AS MATERIALIZED (SELECT set_config('app.current_user_id'")
    assert not [query for query in captured.captured_queries if "SAVEPOINT" in query["sql"]]  # no atomic block
    assert SecurityEvent.objects.filter(type="GRANT_ISSUED", user=alice).count() == 1
    with acting_as(alice.id):
        assert Grant.objects.filter(user=alice, mission_id="mission-1").count() == 1
