"""PostgreSQL keeps the hot statements prepared per connection, unless a pooler forbids it."""

from pathlib import Path

import pytest
from django.db import connection

from accounts.models import User
from accounts.services.tokens import access_token_check, session_start
from core.origin import NO_ORIGIN
from tests.support import manage, production_env

OPTIONS = "from django.conf import settings; print(sorted(settings.DATABASES['default']['OPTIONS'].items()))"


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_token_check_run_again_uses_a_prepared_statement(alice: User) -> None:
    access_token = session_start(user=alice, origin=NO_ORIGIN, method="password").access_token
    for _ in range(6):  # psycopg prepares a statement on its fifth run on the connection
        assert access_token_check(access_token).valid
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ['%FROM "accounts_session"%'])
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert prepared, "the session lookup of the token check is not prepared"


def test_prepared_statements_are_on_by_default_and_off_on_request(tmp_path: Path) -> None:
    database = "postgres://mana@db.internal:5432/mana"
    default = manage("shell", "-c", OPTIONS, env=production_env(tmp_path, DATABASE_URL=database))
    assert "('prepare_threshold', 5), ('server_side_binding', True)" in default.stdout, default.stderr
    off = manage("shell", "-c", OPTIONS, env=production_env(tmp_path, DATABASE_URL=database, DATABASE_PREPARED_STATEMENTS="false"))
    assert off.stdout.strip().splitlines()[-1] == "[('connect_timeout', 5)]", off.stderr
