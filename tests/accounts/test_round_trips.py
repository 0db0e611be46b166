"""The hot paths' writes reach PostgreSQL as one statement each (core/compiled.py, write_all):
a sign-in's rows and a refresh rotation's cost one round trip, not one each."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import DeviceToken, LockoutState, LoginAttempt, RefreshToken, Session, User
from core.models import SecurityEvent
from core.secrets import token_hash
from tests.support import AUTH, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _writes(captured: CaptureQueriesContext) -> list[str]:
    """The statements that write, but the lockout row's lock (an INSERT that, once the row is
    there, only locks it)."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].split(" ", 1)[0] in {"INSERT", "UPDATE", "WITH"}
        and not query["sql"].startswith(f"INSERT INTO {_table(LockoutState)}")
    ]


def _table(model: Any) -> str:
    return f'"{model._meta.db_table}"'


def test_a_password_sign_in_writes_its_rows_in_one_statement(api: APIClient, alice: User) -> None:
    sign_in(api, alice.email)  # the address's first attempt makes its lockout row
    with CaptureQueriesContext(connection) as captured:
        body = sign_in(api, alice.email)
    [statement] = _writes(captured)
    for model in (LoginAttempt, LockoutState, DeviceToken, Session, RefreshToken, SecurityEvent):
        assert _table(model) in statement
    refresh = RefreshToken.objects.get(token_hash=token_hash(body["refreshToken"]))
    assert refresh.session.user_id == alice.id and refresh.session.refresh_tokens.count() == 1
    assert LoginAttempt.objects.filter(email=alice.email, outcome=LoginAttempt.Outcome.SUCCESS).count() == 2
    assert SecurityEvent.objects.filter(user_id=alice.id, type="LOGIN_SUCCESS").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_refresh_rotation_is_one_statement_outside_any_transaction(make_user: Any) -> None:
    """The check, the token's use, the session's touch, the successor and the read back: one
    round trip, with no BEGIN and COMMIT around it (a transaction block would show here)."""
    user = make_user("rotating@example.com")
    api = APIClient()
    token = sign_in(api, user.email)["refreshToken"]
    sent: list[tuple[str, bool]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)

    session = Session.objects.get(user=user)
    with connection.execute_wrapper(record):
        response = api.post(f"{AUTH}/refresh", {"refreshToken": token}, format="json")
    assert response.status_code == 200
    [(statement, in_transaction)] = sent
    assert not in_transaction
    for model in (RefreshToken, Session, User):
        assert _table(model) in statement
    used = RefreshToken.objects.get(token_hash=token_hash(token))
    successor = RefreshToken.objects.get(token_hash=token_hash(response.json()["refreshToken"]))
    assert used.used_at is not None and successor.used_at is None and successor.session_id == session.id
    touched = Session.objects.get(pk=session.pk)
    assert touched.last_seen_at == used.used_at and touched.expires_at > session.expires_at
    assert api.post(f"{AUTH}/refresh", {"refreshToken": response.json()["refreshToken"]}, format="json").status_code == 200


def test_a_sign_in_with_an_unknown_device_token_looks_it_up_once_and_gets_a_new_one(api: APIClient, alice: User) -> None:
    sign_in(api, alice.email)  # the address's first attempt makes its lockout row
    api.cookies.clear()
    with CaptureQueriesContext(connection) as captured:
        body = sign_in(api, alice.email, deviceToken="not-a-device-token-of-this-service")
    lookups = [query for query in captured.captured_queries if query["sql"].startswith("SELECT") and _table(DeviceToken) in query["sql"]]
    assert len(lookups) == 1
    assert body["deviceToken"] != "not-a-device-token-of-this-service"
    assert DeviceToken.objects.filter(user=alice, token_hash=token_hash(body["deviceToken"])).exists()


def test_every_password_attempt_takes_its_lockout_row_and_account_in_two_statements(api: APIClient, alice: User) -> None:
    for attempt in ("the address's first, which makes the row", "a later one"):
        with CaptureQueriesContext(connection) as captured:
            sign_in(api, alice.email)
        statements = [query["sql"] for query in captured.captured_queries]
        first = next(index for index, sql in enumerate(statements) if _table(LockoutState) in sql)
        lock, read = statements[first : first + 2]
        # The insert that locks (no read that misses before it, no read again after), then the
        # row with its account: no other read of the account.
        assert lock.startswith(f"INSERT INTO {_table(LockoutState)}") and "ON CONFLICT" in lock, attempt
        assert read.startswith("SELECT") and _table(User) in read, attempt
        assert [sql for sql in statements if _table(User) in sql and sql.startswith("SELECT")] == [read], attempt
    assert LockoutState.objects.filter(email=alice.email).count() == 1
    assert LoginAttempt.objects.filter(email=alice.email, outcome=LoginAttempt.Outcome.SUCCESS).count() == 2
