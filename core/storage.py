"""Migration operations on how PostgreSQL stores the hot tables (no-ops elsewhere)."""

from collections.abc import Callable

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

_PATTERN_INDEXES = """
    SELECT index.relname
    FROM pg_index
    JOIN pg_class AS index ON index.oid = pg_index.indexrelid
    JOIN pg_class AS tab ON tab.oid = pg_index.indrelid
    JOIN pg_opclass AS opclass ON opclass.oid = ANY (pg_index.indclass)
    WHERE tab.relname = %s AND opclass.opcname IN ('varchar_pattern_ops', 'text_pattern_ops')
"""


def without_pattern_indexes(*tables: str) -> migrations.RunPython:
    """Drop the `…_like` twins Django adds on PostgreSQL beside every indexed text column
    (`varchar_pattern_ops`). They serve `LIKE 'prefix%'` alone, which nothing asks of these ids
    and hashes, and every INSERT (and every UPDATE that cannot stay on its page) writes them too:
    a sign-in wrote ten of them. Going back leaves them out; no query needs them."""

    def drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        with schema_editor.connection.cursor() as cursor:
            for table in tables:
                cursor.execute(_PATTERN_INDEXES, [table])
                for (index,) in cursor.fetchall():
                    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index)}")

    return migrations.RunPython(drop, migrations.RunPython.noop)


def room_for_updates(table: str, fillfactor: int) -> migrations.RunPython:
    """Leave `100 - fillfactor` % of each page free, so a row updated in place (a session's sliding
    expiry, a refresh token marked used) stays on its page and no index is written for it (a
    heap-only tuple update), instead of moving to another page and into every index again."""

    def storage(setting: str) -> Callable[[StateApps, BaseDatabaseSchemaEditor], None]:
        def run(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} {setting}")

        return run

    return migrations.RunPython(storage(f"SET (fillfactor = {int(fillfactor)})"), storage("RESET (fillfactor)"))
