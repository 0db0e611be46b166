"""The old service's database, read only: every statement runs in a read-only transaction, and
the vault tables' row-level security is met one user at a time, as the old service met it."""

from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.rows import dict_row

SCHEMA = "auth"
# The old service's RLS setting: a vault row is visible only while it names the row's user.
RLS_SETTING = "app.current_user_id"

Row = dict[str, Any]


class SourceError(Exception):
    """The source cannot be read as the old service's database."""


class Source:
    def __init__(self, dsn: str) -> None:
        try:
            self._connection = psycopg.connect(dsn, row_factory=dict_row, autocommit=False)
        except psycopg.Error as exc:
            raise SourceError(f"cannot connect to the source database: {type(exc).__name__}") from exc
        self._connection.read_only = True

    def close(self) -> None:
        self._connection.close()

    def has_table(self, table: str) -> bool:
        rows = self.fetch("SELECT to_regclass(%s) IS NOT NULL AS present", [f"{SCHEMA}.{table}"])
        return bool(rows[0]["present"])

    def count(self, table: str) -> int:
        return int(self.fetch(f"SELECT count(*) AS n FROM {SCHEMA}.{table}")[0]["n"])  # noqa: S608 - table names are the importer's own constants

    def fetch(self, sql: str, params: list[Any] | None = None) -> list[Row]:
        with self._connection.transaction(), self._connection.cursor() as cursor:
            cursor.execute(sql.encode(), params)
            return list(cursor.fetchall())

    def batches(self, sql: str, size: int) -> Iterator[list[Row]]:
        """All rows of `sql`, `size` at a time, from one server-side cursor (a long table is never
        held in memory at once)."""
        with self._connection.transaction(), self._connection.cursor(name="takeover") as cursor:
            cursor.execute(sql.encode())
            while rows := cursor.fetchmany(size):
                yield list(rows)

    def fetch_as_user(self, user_id: str, sql: str) -> list[Row]:
        """Rows of an RLS table that `user_id` may see, in a transaction of its own."""
        with self._connection.transaction(), self._connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, true)", [RLS_SETTING, user_id])
            cursor.execute(sql.encode(), [user_id])
            return list(cursor.fetchall())
