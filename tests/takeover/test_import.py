"""Issue 19: `import_ts_service` moves the old identity service's database across, and every
account, key and space keeps working through the service's real HTTP API.

The source is built by tests/takeover/oldservice.py with the old service's real algorithms; each
test imports it into its own (rolled-back) test database and then calls the service as its
clients do."""

import base64
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import SigningKey, User
from core.models import SecurityEvent
from passkeys.models import Passkey
from personas.models import PersonaAction, PersonaFeedback
from spaces.models import Invitation, Membership, Space
from tests.support import AUTH, PASSWORD, assert_error, bearer, sign_in, verify
from tests.takeover.oldservice import TABLES as SOURCE_TABLES
from tests.takeover.oldservice import OldUser, World, envelope_open, source_rows, totp_now

pytestmark = pytest.mark.postgres

PASSKEYS = f"{AUTH}/passkeys"
REPORT_LINE = re.compile(
    r"^(?P<table>\w+): read (?P<read>\d+), imported (?P<imported>\d+), unchanged (?P<unchanged>\d+), skipped (?P<skipped>\d+)$"
)
RLS_SETTING = "app.current_user_id"


# --- running the command -----------------------------------------------------------------------
@dataclass
class Run:
    stdout: str
    stderr: str

    def lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.strip()]

    def tables(self) -> dict[str, dict[str, int]]:
        """The per-table report lines: {table: {read, imported, unchanged, skipped}}."""
        found: dict[str, dict[str, int]] = {}
        for line in self.lines():
            if match := REPORT_LINE.match(line):
                found[match["table"]] = {name: int(match[name]) for name in ("read", "imported", "unchanged", "skipped")}
        return found


def import_run(world: World, *, secret_file: Path | None = None, dry_run: bool = False) -> Run:
    out, err = StringIO(), StringIO()
    call_command(
        "import_ts_service",
        source=world.dsn,
        better_auth_secret_file=str(secret_file or world.secret_file),
        dry_run=dry_run,
        stdout=out,
        stderr=err,
    )
    return Run(out.getvalue(), err.getvalue())


@pytest.fixture
def imported(old_service: World, db: None) -> Run:
    return import_run(old_service)


# --- reading the new database whole --------------------------------------------------------------
def _base_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
        return sorted(name for (name,) in cursor.fetchall())


def _rls_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relrowsecurity AND relnamespace = 'public'::regnamespace")
        return {name for (name,) in cursor.fetchall()}


def _rows(table: str, columns: str = "*") -> list[tuple[Any, ...]]:
    """Every row of a table; a row-level-security table is read once as each user, since the
    test role (like the service's) cannot bypass its policy."""
    query = f"SELECT {columns} FROM {connection.ops.quote_name(table)}"  # noqa: S608 - names from information_schema
    with connection.cursor() as cursor:
        if table not in _rls_tables():
            cursor.execute(query)
            return list(cursor.fetchall())
        cursor.execute("SELECT id FROM accounts_user")
        user_ids = [user_id for (user_id,) in cursor.fetchall()]
        found: list[tuple[Any, ...]] = []
        for user_id in user_ids:
            cursor.execute("SELECT set_config(%s, %s, true)", [RLS_SETTING, user_id])
            cursor.execute(query)
            found.extend(cursor.fetchall())
        cursor.execute("SELECT set_config(%s, '', true)", [RLS_SETTING])
        return found


def snapshot() -> dict[str, list[str]]:
    """Every row of every table of the new database, comparable."""
    return {table: sorted(repr(row) for row in _rows(table)) for table in _base_tables()}


def stored_values() -> Iterator[tuple[str, str, bytes]]:
    """(table, column, value) for every text, character, JSON and bytea value of the new database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.data_type = ANY(%s)",
            [["text", "character varying", "character", "json", "jsonb", "bytea"]],
        )
        columns: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for table, column, data_type in cursor.fetchall():
            columns[table].append((column, data_type))
    for table, typed in columns.items():
        select = ", ".join(connection.ops.quote_name(column) + ("" if data_type == "bytea" else "::text") for column, data_type in typed)
        for row in _rows(table, select):
            for (column, _), value in zip(typed, row, strict=True):
                if value is not None:
                    yield table, column, bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()


def source_snapshot(world: World) -> dict[str, list[str]]:
    user_ids = [user.id for user in world.users.values()]
    return {table: sorted(repr(row) for row in source_rows(world.dsn, table, user_ids)) for table in SOURCE_TABLES}


# --- calling the service -------------------------------------------------------------------------
def login(user: OldUser, password: str | None = None) -> Any:
    return APIClient().post(f"{AUTH}/login", {"email": user.email, "password": password or user.password}, format="json")


def client_of(user: OldUser) -> APIClient:
    """Signed in with the old password, Bearer credentials."""
    response = login(user)
    assert response.status_code == 200, response.content
    return bearer(response.json()["accessToken"])


def stored_password(user: OldUser) -> str:
    return User.objects.get(pk=user.id).password


def validated(token: str) -> dict[str, Any]:
    return dict(APIClient().post(f"{AUTH}/validate", {"token": token}, format="json").json())


def client_of_second_factor(world: World, key: str) -> APIClient:
    """Signed in with the old password and a TOTP of the old secret."""
    response = verify(APIClient(), second_factor_token(world.user(key)), code=totp_now(world.totp_secrets[key]))
    assert response.status_code == 200, response.content
    return bearer(response.json()["accessToken"])


def passkey_assertion(world: World, email: str | None) -> dict[str, Any]:
    options = APIClient().post(f"{PASSKEYS}/authenticate/options", {"email": email} if email else {}, format="json").json()
    return world.authenticator.get(options=options, origin=str(settings.WEBAUTHN_ORIGINS[0]))


def passkey_verify(response: dict[str, Any]) -> Any:
    return APIClient().post(f"{PASSKEYS}/authenticate/verify", {"response": response}, format="json")


def second_factor_token(user: OldUser) -> str:
    response = login(user)
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "TWO_FACTOR_REQUIRED"
    return str(response.json()["twoFactorToken"])


# --- the source itself -------------------------------------------------------------------------
def test_the_source_holds_the_old_world_behind_row_level_security(old_service: World) -> None:
    alice = old_service.user("alice")
    with psycopg.connect(old_service.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM auth.users").fetchone() == (8,)
        # The vault rows are invisible until the setting names their user.
        assert conn.execute("SELECT count(*) FROM auth.encryption_vaults").fetchone() == (0,)
        with conn.transaction():
            conn.execute("SELECT set_config('app.current_user_id', %s, true)", [alice.id])
            assert conn.execute("SELECT count(*) FROM auth.encryption_vaults").fetchone() == (1,)
        team = conn.execute("SELECT jsonb_typeof(metadata) FROM auth.organizations WHERE id = %s", [old_service.team_space_id]).fetchone()
        assert team == ("string",)
        [(sealed,)] = conn.execute("SELECT secret FROM auth.two_factor_auth WHERE user_id = %s", [old_service.user("bob").id]).fetchall()
    assert envelope_open(old_service.secret, sealed) == old_service.totp_secrets["bob"]
    assert old_service.secret_file.read_text() == old_service.secret + "\n"
    assert len(source_rows(old_service.dsn, "encryption_vault_audit", [alice.id])) == 2


# --- passwords -----------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["alice", "carol", "erin", "zoe", "persona"])
def test_a_user_signs_in_with_the_old_password_and_the_hash_becomes_argon2id(old_service: World, imported: Run, key: str) -> None:
    user = old_service.user(key)
    assert not stored_password(user).startswith("argon2")  # still the old scrypt hash

    response = login(user)

    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == user.id  # the id is kept
    assert stored_password(user).startswith("argon2")


def test_a_wrong_password_against_an_imported_hash_is_refused(old_service: World, imported: Run) -> None:
    assert_error(login(old_service.user("alice"), "old-pass-alice-2"), 401, "INVALID_CREDENTIALS")


def test_the_unverified_address_stays_unverified(old_service: World, imported: Run) -> None:
    dave = old_service.user("dave")
    assert_error(login(dave), 403, "EMAIL_NOT_VERIFIED")
    assert User.objects.get(pk=dave.id).email_verified is False


def test_the_deleted_user_cannot_sign_in(old_service: World, imported: Run) -> None:
    assert_error(login(old_service.user("gone")), 401, "INVALID_CREDENTIALS")


# --- second factors ------------------------------------------------------------------------------
def test_the_two_factor_user_is_asked_for_it_and_passes_with_a_totp_of_the_old_secret(old_service: World, imported: Run) -> None:
    bob = old_service.user("bob")
    token = second_factor_token(bob)

    response = verify(APIClient(), token, code=totp_now(old_service.totp_secrets["bob"]))

    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == bob.id
    assert stored_password(bob).startswith("argon2")


def test_a_wrong_totp_is_refused(old_service: World, imported: Run) -> None:
    token = second_factor_token(old_service.user("bob"))
    wrong = f"{(int(totp_now(old_service.totp_secrets['bob'])) + 500_000) % 1_000_000:06d}"
    assert_error(verify(APIClient(), token, code=wrong), 401, "TWO_FACTOR_FAILED")


def test_an_old_backup_code_passes_once(old_service: World, imported: Run) -> None:
    bob = old_service.user("bob")
    code = old_service.backup_codes["bob"][3]

    first = verify(APIClient(), second_factor_token(bob), backupCode=code)
    again = verify(APIClient(), second_factor_token(bob), backupCode=code)

    assert first.status_code == 200, first.content
    assert_error(again, 401, "TWO_FACTOR_FAILED")


def test_an_unfinished_enrolment_does_not_turn_two_factor_on(old_service: World, imported: Run) -> None:
    erin = old_service.user("erin")
    response = login(erin)  # the password alone
    assert response.status_code == 200, response.content
    assert response.json()["user"]["twoFactorEnabled"] is False
    assert User.objects.get(pk=erin.id).two_factor_enabled is False


# --- passkeys ------------------------------------------------------------------------------------
def test_the_old_passkey_signs_in_email_first_and_discoverable(old_service: World, imported: Run) -> None:
    carol = old_service.user("carol")

    email_first = passkey_verify(passkey_assertion(old_service, carol.email))
    # No email: found by its credential id, whatever random user handle it sends.
    discoverable = passkey_verify(passkey_assertion(old_service, None))

    assert email_first.status_code == 200, email_first.content
    assert email_first.json()["user"]["id"] == carol.id
    assert discoverable.status_code == 200, discoverable.content
    assert discoverable.json()["user"]["id"] == carol.id
    stored = Passkey.objects.get(credential_id=old_service.passkey.credential_id)
    assert stored.sign_count == old_service.authenticator.credentials[0].sign_count


def test_the_passkey_keeps_what_the_old_service_stored(old_service: World, imported: Run) -> None:
    stored = Passkey.objects.get(credential_id=old_service.passkey.credential_id)
    assert stored.user_id == old_service.user("carol").id
    assert stored.sign_count == old_service.passkey_counter
    assert stored.aaguid == old_service.passkey.aaguid
    assert stored.backed_up is False
    assert sorted(stored.transports) == ["hybrid", "internal"]


def test_an_assertion_behind_the_stored_counter_is_refused(old_service: World, imported: Run) -> None:
    credential = old_service.authenticator.credentials[0]
    ahead = credential.sign_count
    carol = old_service.user("carol")
    # A clone two steps behind the counter the old service stored.
    old_service.authenticator.set_sign_count(credential.credential_id, old_service.passkey_counter - 3)
    try:
        behind = passkey_verify(passkey_assertion(old_service, carol.email))
    finally:
        old_service.authenticator.set_sign_count(credential.credential_id, ahead)

    assert_error(behind, 401, "PASSKEY_VERIFICATION_FAILED")
    assert passkey_verify(passkey_assertion(old_service, carol.email)).status_code == 200  # the real one, ahead of it


# --- tokens and sessions -------------------------------------------------------------------------
def test_a_token_the_old_key_minted_is_valid(old_service: World, imported: Run) -> None:
    alice = old_service.user("alice")
    answer = validated(old_service.old_token)
    assert answer["valid"] is True, answer
    assert answer["payload"]["sub"] == alice.id
    assert answer["payload"]["sid"] == old_service.live_session_id
    profile = bearer(old_service.old_token).get(f"{AUTH}/profile")
    assert profile.status_code == 200, profile.content
    assert profile.json()["id"] == alice.id


def test_the_old_keys_are_kept_under_their_kid_and_published(old_service: World, imported: Run) -> None:
    kids = [key.kid for key in old_service.signing_keys]
    published = {key["kid"] for key in APIClient().get("/.well-known/jwks.json").json()["keys"]}
    assert kids[0] in published  # the key of the tokens minted before the switch
    assert SigningKey.objects.filter(kid__in=kids).count() == 2


def test_the_old_session_token_refreshes_once(old_service: World, imported: Run) -> None:
    api = APIClient()
    first = api.post(f"{AUTH}/refresh", {"refreshToken": old_service.live_session_token}, format="json")
    again = api.post(f"{AUTH}/refresh", {"refreshToken": old_service.live_session_token}, format="json")

    assert first.status_code == 200, first.content
    assert validated(first.json()["accessToken"])["payload"]["sid"] == old_service.live_session_id
    assert api.post(f"{AUTH}/refresh", {"refreshToken": first.json()["refreshToken"]}, format="json").status_code == 200
    assert_error(again, 401, "TOKEN_INVALID")


def test_an_expired_old_session_does_not_refresh(old_service: World, imported: Run) -> None:
    response = APIClient().post(f"{AUTH}/refresh", {"refreshToken": old_service.expired_session_token}, format="json")
    assert response.status_code == 401


# --- API keys ------------------------------------------------------------------------------------
def test_the_old_api_key_validates(old_service: World, imported: Run) -> None:
    answer = APIClient().post("/api/v1/api-keys/validate", {"apiKey": old_service.api_key}, format="json").json()
    assert answer["valid"] is True, answer
    assert answer["userId"] == old_service.user("alice").id
    assert answer["scopes"] == old_service.api_key_scopes
    assert answer["rateLimit"]["requests"] == 120
    assert answer["rateLimit"]["window"] == 60
    listed = client_of(old_service.user("alice")).get("/api/v1/api-keys").json()
    assert [key["id"] for key in listed] == [old_service.api_key_id]
    forged = "sk_live_" + "0" * 64
    assert APIClient().post("/api/v1/api-keys/validate", {"apiKey": forged}, format="json").json()["valid"] is False


# --- vaults --------------------------------------------------------------------------------------
def test_the_vault_returns_the_same_master_key(old_service: World, imported: Run) -> None:
    response = client_of(old_service.user("alice")).get("/api/v1/me/encryption-vault/key")
    assert response.status_code == 200, response.content
    assert base64.b64decode(response.json()["masterKey"]) == old_service.master_key


def test_the_zero_knowledge_vault_keeps_its_recovery_wrap(old_service: World, imported: Run) -> None:
    client = client_of(old_service.user("zoe"))
    status = client.get("/api/v1/me/encryption-vault/status").json()
    key = client.get("/api/v1/me/encryption-vault/key")

    assert status["zeroKnowledge"] is True
    assert status["hasRecoveryWrap"] is True
    assert key.status_code == 200, key.content
    assert key.json()["requiresRecoveryCode"] is True
    assert base64.b64decode(key.json()["recoveryWrappedMk"]) == old_service.zoe_recovery_wrapped_mk
    assert base64.b64decode(key.json()["recoveryIv"]) == old_service.zoe_recovery_iv


# --- spaces, members, invitations ----------------------------------------------------------------
def test_spaces_and_roles_are_there(old_service: World, imported: Run) -> None:
    alice = old_service.user("alice")
    alice_spaces = {space["id"]: space for space in client_of(alice).get("/api/v1/spaces").json()["spaces"]}
    bob_client = client_of_second_factor(old_service, "bob")
    bob_spaces = {space["id"]: space for space in bob_client.get("/api/v1/spaces").json()["spaces"]}

    assert set(alice_spaces) == {alice.personal_space_id, old_service.team_space_id}
    assert alice_spaces[old_service.team_space_id]["role"] == "owner"
    assert alice_spaces[old_service.team_space_id]["slug"] == old_service.team_slug
    assert alice_spaces[alice.personal_space_id]["type"] == "personal"
    assert bob_spaces[old_service.team_space_id]["role"] == "admin"


def test_every_user_but_the_deleted_one_has_their_old_personal_space(old_service: World, imported: Run) -> None:
    expected = {user.id: user.personal_space_id for user in old_service.users.values() if not user.deleted}
    personal = dict(Space.objects.filter(type="personal").values_list("personal_owner_id", "id"))
    assert personal == expected


def test_the_team_metadata_is_decoded(old_service: World, imported: Run) -> None:
    client = client_of(old_service.user("alice"))
    space = client.get(f"/api/v1/spaces/{old_service.team_space_id}").json()["space"]
    assert space["type"] == "team"
    assert space["metadata"] == {"type": "team"}
    organizations = {entry["id"]: entry for entry in client.get("/api/auth/organization/list").json()}
    assert organizations[old_service.user("alice").personal_space_id]["metadata"] == {"type": "personal", "tier": "founder"}


def test_members_keep_their_ids_and_the_dangling_one_is_reported_and_skipped(old_service: World, imported: Run) -> None:
    listed = client_of(old_service.user("alice")).get(f"/api/auth/organization/list-members?organizationId={old_service.team_space_id}")
    members = {member["id"]: (member["userId"], member["role"]) for member in listed.json()["members"]}

    assert members == {
        old_service.team_member_ids["alice"]: (old_service.user("alice").id, "owner"),
        old_service.team_member_ids["bob"]: (old_service.user("bob").id, "admin"),
    }
    assert f"  skipped {old_service.dangling_member_id}:" in imported.stdout
    assert imported.tables()["members"]["skipped"] == 1
    assert not Membership.objects.filter(pk=old_service.dangling_member_id).exists()


def test_the_other_provider_account_is_reported_and_skipped(old_service: World, imported: Run) -> None:
    assert f"  skipped {old_service.github_account_id}:" in imported.stdout


def test_the_pending_invitation_is_accepted_by_its_old_id_once_the_invitee_has_an_account(old_service: World, imported: Run) -> None:
    pending = old_service.invitations["pending"]
    listed = client_of(old_service.user("alice")).get(f"/api/auth/organization/list-invitations?organizationId={old_service.team_space_id}")
    assert {(entry["id"], entry["status"]) for entry in listed.json()} >= {(pending, "pending")}
    frank = User.objects.create_user(old_service.invitee, PASSWORD, email_verified=True, name="Frank")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(APIClient(), frank.email)['accessToken']}")

    accepted = client.post(f"/api/v1/spaces/invitations/{pending}/accept")

    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["space"]["id"] == old_service.team_space_id
    assert Membership.objects.get(space_id=old_service.team_space_id, user=frank).role == "member"


@pytest.mark.parametrize(("status", "invitee"), [("accepted", "carol"), ("canceled", "erin")])
def test_finished_invitations_are_history_and_not_acceptable(old_service: World, imported: Run, status: str, invitee: str) -> None:
    invitation_id = old_service.invitations[status]
    assert Invitation.objects.get(pk=invitation_id).status == status

    response = client_of(old_service.user(invitee)).post(f"/api/v1/spaces/invitations/{invitation_id}/accept")

    assert_error(response, 404, "NOT_FOUND")
    assert not Membership.objects.filter(space_id=old_service.team_space_id, user_id=old_service.user(invitee).id).exists()


# --- settings, tiers, roles, personas, events ----------------------------------------------------
def test_settings_are_as_they_were(old_service: World, imported: Run) -> None:
    answer = client_of(old_service.user("alice")).get("/api/v1/settings").json()
    assert answer["globalSettings"] == old_service.settings["global_settings"]
    assert answer["appOverrides"] == old_service.settings["app_overrides"]
    assert answer["deviceSettings"] == old_service.settings["device_settings"]


@pytest.mark.parametrize("key", ["alice", "carol", "zoe"])
def test_tier_and_role_are_as_they_were_and_new_tokens_carry_the_real_role(old_service: World, imported: Run, key: str) -> None:
    user = old_service.user(key)
    body = login(user).json()
    assert body["user"]["tier"] == user.tier
    assert body["user"]["role"] == user.role
    # The old tokens always said "user"; ours say what the user is.
    assert validated(body["accessToken"])["payload"]["role"] == user.role


def test_the_profile_is_as_it_was(old_service: World, imported: Run) -> None:
    alice = old_service.user("alice")
    client = client_of(alice)
    profile = client.get(f"{AUTH}/profile").json()
    assert (profile["name"], profile["email"], profile["image"]) == (alice.name, alice.email, "https://cdn.example.com/avatars/alice.png")
    assert client.get("/api/v1/me/onboarding").json()["completedAt"] is not None
    assert client.get("/api/v1/me/profile").json()["feedbackShowRealName"] is True


def test_personas_are_as_they_were(old_service: World, imported: Run) -> None:
    persona = old_service.user("persona")
    listed = client_of(old_service.user("alice")).get("/api/v1/admin/personas")
    assert listed.status_code == 200, listed.content  # alice is still an operator
    [entry] = [entry for entry in listed.json()["personas"] if entry["userId"] == persona.id]
    assert (entry["archetype"], entry["tickCadence"]) == (old_service.persona_archetype, old_service.persona_cadence)
    assert User.objects.get(pk=persona.id).kind == "persona"
    assert PersonaAction.objects.filter(persona_id=persona.id).count() == 2
    assert list(PersonaFeedback.objects.filter(persona_id=persona.id).values_list("module", "rating")) == [("notes", 4)]


def test_security_events_are_as_they_were(old_service: World, imported: Run) -> None:
    events = client_of(old_service.user("alice")).get(f"{AUTH}/security-events").json()
    seen = {(event["eventType"], event["ipAddress"]) for event in events}
    expected = {(event_type, ip) for subject, event_type, ip in old_service.security_events if subject == "alice"}
    assert seen >= expected
    assert SecurityEvent.objects.filter(user_id=old_service.user("bob").id, type__iexact="two_factor_enabled").count() == 1
    assert SecurityEvent.objects.filter(user=None, ip_address="203.0.113.66").count() == 1


# --- the command ---------------------------------------------------------------------------------
def test_the_report_counts_every_table(old_service: World, imported: Run) -> None:
    report = imported.tables()
    assert report["users"]["read"] == len(old_service.users)
    assert report["users"]["imported"] + report["users"]["skipped"] == len(old_service.users)
    assert not REPORT_LINE.match(imported.lines()[-1])  # it ends with a summary line


def test_the_source_is_only_read(old_service: World, db: None) -> None:
    before = source_snapshot(old_service)
    import_run(old_service)
    assert source_snapshot(old_service) == before


def test_a_second_run_changes_no_row_and_says_so(old_service: World, imported: Run) -> None:
    before = snapshot()

    second = import_run(old_service)

    assert snapshot() == before
    assert "nothing changed" in second.lines()[-1].lower()
    assert {table: counts["imported"] for table, counts in second.tables().items() if counts["imported"]} == {}


def test_a_dry_run_writes_nothing(old_service: World, db: None) -> None:
    before = snapshot()

    run = import_run(old_service, dry_run=True)

    assert snapshot() == before
    assert run.tables()["users"]["read"] == len(old_service.users)


def test_a_wrong_secret_writes_nothing_and_names_the_secret(old_service: World, db: None, tmp_path: Path) -> None:
    wrong = tmp_path / "another-secret"
    wrong.write_text(base64.b64encode(b"another secret, not the old one").decode() + "\n")
    before = snapshot()

    with pytest.raises(CommandError) as refused:
        import_run(old_service, secret_file=wrong)

    message = str(refused.value)
    assert "--better-auth-secret-file" in message or "Better Auth secret" in message, message
    assert old_service.secret not in message
    assert snapshot() == before


def test_no_plaintext_secret_of_the_source_is_stored_or_printed(old_service: World, imported: Run) -> None:
    secrets = old_service.plaintext_secrets()

    leaks = [
        (name, table, column)
        for table, column, value in stored_values()
        for name, secret in secrets.items()
        if secret.lower() in value.lower()
    ]
    printed = (imported.stdout + imported.stderr).encode().lower()

    assert leaks == []
    assert [name for name, secret in secrets.items() if secret.lower() in printed] == []
