"""The service runs as a role with DML rights only; the schema belongs to the migration role. The
table owner could switch row-level security off (ALTER TABLE … DISABLE / NO FORCE), so a service
that owns its tables is one SQL injection away from reading every vault."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, ProgrammingError, connection, connections, transaction

from accounts.models import User
from core.origin import Origin
from tests.support import REPO, free_port, manage, production_env
from vault import services
from vault.models import Vault

# Made by .ci/run: LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB, no rights until the owner grants them.
RUNTIME_ROLE = "mana_auth_runtime"
RLS_OFF = ("ALTER TABLE vault_vault DISABLE ROW LEVEL SECURITY", "ALTER TABLE vault_vault NO FORCE ROW LEVEL SECURITY")


def grant_runtime_rights() -> None:
    """What the README has the owner run once: DML on the tables, nothing on the schema's shape."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [RUNTIME_ROLE])
        row = cursor.fetchone()
        if row is None:
            pytest.fail(f"the role {RUNTIME_ROLE} is missing; .ci/run creates it", pytrace=False)
        assert row == (False, False)
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {RUNTIME_ROLE}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {RUNTIME_ROLE}")
        cursor.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {RUNTIME_ROLE}")


@contextmanager
def connected_as(role: str) -> Iterator[None]:
    """The default connection re-opened as `role`, as the service connects in production."""
    database = connections[DEFAULT_DB_ALIAS]
    saved = database.settings_dict["USER"], database.settings_dict["PASSWORD"]
    database.close()
    database.settings_dict["USER"], database.settings_dict["PASSWORD"] = role, ""
    try:
        yield
    finally:
        database.close()
        database.settings_dict["USER"], database.settings_dict["PASSWORD"] = saved


@pytest.mark.postgres
def test_attack_runtime_role_cannot_switch_row_level_security_off(transactional_db: None, alice: User) -> None:
    master_key = services.vault_init(actor=alice, origin=Origin()).body["masterKey"]
    grant_runtime_rights()
    # The owner could (rolled back here): that is why the service must not be the owner.
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in RLS_OFF:
            cursor.execute(statement)
        transaction.set_rollback(True)

    with connected_as(RUNTIME_ROLE):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (RUNTIME_ROLE,)
            for statement in RLS_OFF:
                with pytest.raises(ProgrammingError) as refused:
                    cursor.execute(statement)
                assert getattr(refused.value.__cause__, "sqlstate", None) == "42501"  # insufficient_privilege
        # The service's normal work goes on: a key fetch reads the vault and writes its audit row.
        assert services.vault_key_fetch(actor=alice, origin=Origin()).body["masterKey"] == master_key
        assert Vault.objects.count() == 0  # outside acting_as, row-level security shows nothing


def test_migrations_run_as_the_migration_role_and_the_service_as_the_runtime_one(tmp_path: Path) -> None:
    """docker-entrypoint.sh with MIGRATE_ON_START=1: `migrate` uses MIGRATION_DATABASE_URL, gunicorn DATABASE_URL."""
    owner_url, runtime_url = f"sqlite:///{tmp_path / 'owner.sqlite3'}", f"sqlite:///{tmp_path / 'runtime.sqlite3'}"
    port = free_port()
    env = production_env(
        tmp_path, PORT=str(port), WEB_CONCURRENCY="1", MIGRATE_ON_START="1", MIGRATION_DATABASE_URL=owner_url, DATABASE_URL=runtime_url
    )
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # the image puts its virtualenv first
    server = subprocess.Popen(  # noqa: S603
        [str(REPO / "docker-entrypoint.sh")], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        headers = {"Host": "auth.example.com", "X-Forwarded-Proto": "https"}
        request = urllib.request.Request(f"http://127.0.0.1:{port}/health", headers=headers)
        deadline = time.monotonic() + 60
        while True:  # gunicorn starts only once migrate is done
            try:
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback
                    json.load(response)
                break
            except urllib.error.HTTPError:
                break  # answered (the runtime database is empty here): migrate has finished
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, "the entrypoint exited early"
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=15)
    migrated = manage("showmigrations", "--plan", env=env | {"DATABASE_URL": owner_url}).stdout
    untouched = manage("showmigrations", "--plan", env=env | {"DATABASE_URL": runtime_url}).stdout
    assert migrated.count("[X]") > 0
    assert untouched.count("[X]") == 0
