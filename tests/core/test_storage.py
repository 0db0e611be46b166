"""How PostgreSQL stores the hot tables (core/storage.py, applied by the apps' migrations)."""

import pytest
from django.apps import apps
from django.db import connection

from tests.core.test_layout import APPS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HOT_TABLES = ["accounts_session", "accounts_refreshtoken", "accounts_devicetoken", "core_securityevent", "vault_vaultaudit",
              "grants_grant", "passkeys_passkey", "accounts_lockoutstate"]  # fmt: skip


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


def _our_tables() -> list[str]:
    """The tables of this project's models (not Django's own, nor a library's)."""
    return [model._meta.db_table for label in APPS for model in apps.get_app_config(label).get_models()]


def test_no_index_of_ours_only_repeats_the_start_of_another() -> None:
    """A foreign key's own index beside a composite index that leads with the same column serves
    no lookup the composite cannot, and every INSERT writes it: a sign-in wrote three such."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT tab.relname, covered.relname, covering.relname
               FROM pg_index AS s
               JOIN pg_index AS b ON b.indrelid = s.indrelid AND b.indexrelid <> s.indexrelid
               JOIN pg_class AS tab ON tab.oid = s.indrelid
               JOIN pg_class AS covered ON covered.oid = s.indexrelid
               JOIN pg_class AS covering ON covering.oid = b.indexrelid
               WHERE tab.relname = ANY (%s) AND NOT s.indisunique
                 AND s.indpred IS NULL AND b.indpred IS NULL AND s.indexprs IS NULL AND b.indexprs IS NULL
                 AND s.indnkeyatts <= b.indnkeyatts
                 AND (string_to_array(s.indkey::text, ' ')::int[])[1:s.indnkeyatts]
                     = (string_to_array(b.indkey::text, ' ')::int[])[1:s.indnkeyatts]
                 AND (string_to_array(s.indclass::text, ' ')::oid[])[1:s.indnkeyatts]
                     = (string_to_array(b.indclass::text, ' ')::oid[])[1:s.indnkeyatts]""",
            [_our_tables()],
        )
        assert cursor.fetchall() == []
        # The foreign keys themselves stay: only their extra index went.
        cursor.execute(
            """SELECT conrelid::regclass::text FROM pg_constraint
               WHERE contype = 'f' AND confrelid = 'accounts_user'::regclass AND conrelid::regclass::text = ANY (%s)""",
            [["accounts_session", "core_securityevent", "grants_grant", "vault_vaultaudit"]],
        )
        assert sorted(name for (name,) in cursor.fetchall()) == [
            "accounts_session",
            "core_securityevent",
            "grants_grant",
            "vault_vaultaudit",
        ]
