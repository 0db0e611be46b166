"""PostgreSQL row-level security scoped to the acting user (DESIGN.md rule 7).

Tables are protected by a migration operation from `owner_only_policy`; every service touching
them runs inside `acting_as(user_id)`, which sets `app.current_user_id` for its transaction, or
sends statements that make the setting themselves (`acting_as=` in core/compiled.py: a key fetch
and a mission grant, one read and one write, need no transaction).
On SQLite (development) the policies do not exist and the context is a plain transaction.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, migrations, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

SETTING = "app.current_user_id"


def owner_only_policy(table: str, column: str = "user_id") -> migrations.RunPython:
    """ENABLE + FORCE row-level security with one policy: a row is visible and writable only
    while `app.current_user_id` names its user. FORCE makes it bind the table owner too."""
    policy = f"{table}_owner_only"
    statements = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {policy} ON {table} USING ({column} = current_setting('{SETTING}', true)) "
        f"WITH CHECK ({column} = current_setting('{SETTING}', true))",
    ]
    reverse = [
        f"DROP POLICY IF EXISTS {policy} ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]

    def run(sql: list[str]) -> object:
        def apply(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
            if schema_editor.connection.vendor == "postgresql":
                for statement in sql:
                    schema_editor.execute(statement)

        return apply

    return migrations.RunPython(run(statements), run(reverse))  # type: ignore[arg-type]


@contextmanager
def acting_as(user_id: str) -> Iterator[None]:
    """A transaction in which row-level security admits `user_id`'s rows only."""
    if not user_id:
        raise ValueError("row-level security needs a user id; refusing to run without one")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, %s, true)", [SETTING, user_id])
        yield
