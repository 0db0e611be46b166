"""How PostgreSQL stores the hot tables (core/storage.py, applied by the apps' migrations)."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HOT_TABLES = ["accounts_session", "accounts_refreshtoken", "accounts_devicetoken", "core_securityevent", "vault_vaultaudit",
              "grants_grant", "passkeys_passkey"]  # fmt: skip


def test_the_hot_tables_carry_no_pattern_indexes() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT tab.relname, index.relname FROM pg_index
               JOIN pg_class AS index ON index.oid = pg_index.indexrelid
               JOIN pg_class AS tab ON tab.oid = pg_index.indrelid
               JOIN pg_opclass AS opclass ON opclass.oid = ANY (pg_index.indclass)
               WHERE tab.relname = ANY (%s) AND opclass.opcname IN ('varchar_pattern_ops', 'text_pattern_ops')""",
            [HOT_TABLES],
        )
        assert cursor.fetchall() == []
        # The lookups themselves keep their indexes.
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'accounts_refreshtoken'")
        names = {name for (name,) in cursor.fetchall()}
    assert "accounts_refreshtoken_token_hash_key" in names
    assert "accounts_refreshtoken_pkey" in names


def test_sessions_and_refresh_tokens_leave_room_for_updates_in_place() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE relname = ANY (%s)", [["accounts_session", "accounts_refreshtoken"]])
        options = dict(cursor.fetchall())
    assert options == {"accounts_session": ["fillfactor=80"], "accounts_refreshtoken": ["fillfactor=80"]}
