"""The old service's database, built fresh on the test database's server for each module."""

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from tests.takeover.oldservice import World, build


def _database() -> dict[str, Any]:
    database: dict[str, Any] = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        # The tests are marked `postgres`, so this is reached only by a fixture used unmarked.
        pytest.skip("the old service's database is PostgreSQL")
    return database


def _conninfo(database: dict[str, Any], name: str) -> str:
    return psycopg.conninfo.make_conninfo(
        dbname=name,
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
    )


def _url(database: dict[str, Any], name: str) -> str:
    """The `postgres://` URL the command takes as --source."""
    credentials = quote(database.get("USER") or "", safe="")
    if database.get("PASSWORD"):
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database.get("HOST") or "localhost"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"postgres://{credentials}@{host}{port}/{name}"


@pytest.fixture(scope="module")
def old_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A new database `mana_auth_old_<hex>` in the old schema, filled, then dropped. Module scope:
    the importer only reads it, and each test imports into its own rolled-back transaction."""
    database = _database()
    name = f"mana_auth_old_{secrets.token_hex(6)}"
    # The maintenance database, in autocommit: CREATE and DROP DATABASE run outside transactions.
    with psycopg.connect(_conninfo(database, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(_conninfo(database, name)) as conn:
            world = build(conn, dsn=_url(database, name), secret_dir=tmp_path_factory.mktemp("old-service"))
        yield world
    finally:
        with psycopg.connect(_conninfo(database, "postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
