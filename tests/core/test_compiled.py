"""core.compiled: a queryset compiled once answers like the ORM for every later call's values."""

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import signals
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from accounts.models import LockoutState, Session, User
from accounts.services.tokens import session_start
from core.compiled import (
    CompiledQuery,
    columns,
    field_names,
    insert_row,
    instances,
    instances_of,
    row_insert,
    row_insert_acting,
    row_insert_or_lock,
    row_insert_select,
    row_update,
    write_all,
)
from core.models import SecurityEvent
from core.origin import NO_ORIGIN
from core.rls import SETTING
from core.services import security_event_record
from vault.models import VaultAudit

pytestmark = pytest.mark.django_db

ACTIVE_BY_EMAIL = CompiledQuery(lambda email: User.objects.filter(email=email, is_active=True).values_list("id", "name"), "email")


def test_each_call_binds_its_own_values_and_keeps_the_constants(make_user: Callable[..., User]) -> None:
    ada = make_user("ada@example.com", name="Ada")
    make_user("bea@example.com", name="Bea", is_active=False)
    assert ACTIVE_BY_EMAIL.rows(email="ada@example.com") == [(ada.id, "Ada")]
    # The compiled `is_active = true` still holds: an inactive user is not found.
    assert ACTIVE_BY_EMAIL.first(email="bea@example.com") is None
    assert ACTIVE_BY_EMAIL.first(email="nobody@example.com") is None


def test_one_round_trip_a_call(make_user: Callable[..., User], django_assert_num_queries: Any) -> None:
    make_user("ada@example.com", name="Ada")
    ACTIVE_BY_EMAIL.first(email="ada@example.com")
    with django_assert_num_queries(1):
        ACTIVE_BY_EMAIL.first(email="ada@example.com")


def test_values_come_back_through_the_fields_converters(alice: User) -> None:
    event = security_event_record(type="COMPILED_TEST", user_id=alice.id, metadata={"nested": {"n": 1}})
    compiled = CompiledQuery(lambda user: SecurityEvent.objects.filter(user_id=user).values_list("metadata", "created_at"), "user")
    orm = list(SecurityEvent.objects.filter(pk=event.pk).values_list("metadata", "created_at"))
    rows = compiled.rows(user=alice.id)
    assert rows == orm
    assert rows[0][0] == {"nested": {"n": 1}}  # JSON decoded, as the ORM does
    assert rows[0][1].tzinfo is not None


def test_instances_equal_what_the_orm_loads_and_save_as_loaded_rows(alice: User) -> None:
    started = session_start(user=alice, origin=NO_ORIGIN, method="password").session
    compiled = CompiledQuery(
        lambda sid: Session.objects.filter(pk=sid).values_list(*field_names(Session), *field_names(User, "user__")), "sid"
    )
    row = compiled.first(sid=started.id)
    assert row is not None
    session, user = instances(row, Session, User)
    loaded = Session.objects.select_related("user").get(pk=started.id)
    assert [getattr(session, name) for name in field_names(Session)] == [getattr(loaded, name) for name in field_names(Session)]
    assert [getattr(user, name) for name in field_names(User)] == [getattr(loaded.user, name) for name in field_names(User)]
    assert not session._state.adding
    session.device_name = "renamed"
    session.save(update_fields=["device_name"])  # an UPDATE of the loaded row, not a second INSERT
    assert Session.objects.filter(user=alice).count() == 1
    assert Session.objects.get(pk=started.id).device_name == "renamed"


def test_a_hand_built_statement_reads_instances_as_the_orm_loads_them(alice: User) -> None:
    event = security_event_record(type="COMPILED_TEST", user_id=alice.id, metadata={"nested": {"n": 1}})
    events, users = (connection.ops.quote_name(model._meta.db_table) for model in (SecurityEvent, User))
    statement = (
        f"SELECT {columns(SecurityEvent, 'e')}, {columns(User, 'u')} FROM {events} e JOIN {users} u ON u.id = e.user_id WHERE e.id = %s"  # noqa: S608 - the models' names
    )
    [[read, user]] = instances_of(statement, [event.pk], SecurityEvent, User)
    loaded = SecurityEvent.objects.select_related("user").get(pk=event.pk)
    assert [getattr(read, name) for name in field_names(SecurityEvent)] == [getattr(loaded, name) for name in field_names(SecurityEvent)]
    assert [getattr(user, name) for name in field_names(User)] == [getattr(loaded.user, name) for name in field_names(User)]
    assert read.metadata == {"nested": {"n": 1}} and read.created_at.tzinfo is not None  # through the fields' converters
    assert instances_of(statement, [event.pk + 1], SecurityEvent, User) == []


def test_row_insert_select_inserts_once_for_each_row_of_its_source(make_user: Callable[..., User]) -> None:
    ada, bea = make_user("ada@example.com"), make_user("bea@example.com")
    make_user("cid@example.com")
    write = row_insert_select(SecurityEvent(type="FROM_SOURCE", metadata={"n": 1}), "chosen", user="id")
    users = connection.ops.quote_name(User._meta.db_table)
    statement = f"WITH chosen AS (SELECT id FROM {users} WHERE email IN (%s, %s)) {write.sql}"  # noqa: S608 - the model's name
    with connection.cursor() as cursor:
        cursor.execute(statement, [ada.email, bea.email, *write.params])
    made = SecurityEvent.objects.filter(type="FROM_SOURCE")
    assert sorted(made.values_list("user_id", flat=True)) == sorted([ada.id, bea.id])
    assert [event.metadata for event in made] == [{"n": 1}, {"n": 1}]


def test_row_insert_select_refuses_a_key_set_by_hand(alice: User) -> None:
    with pytest.raises(ValueError, match="key the database makes"):
        row_insert_select(SecurityEvent(pk=10**9, type="FROM_SOURCE"), "chosen", user="id")


def test_a_slot_the_sql_does_not_carry_is_refused(alice: User) -> None:
    unused = CompiledQuery(lambda email, name: User.objects.filter(email=email).values_list("id"), "email", "name")
    with pytest.raises(ValueError, match="slot"):
        unused.rows(email=alice.email, name="Alice")


@pytest.mark.django_db(transaction=True)  # a test's own transaction would hide the autocommit
def test_a_locking_read_outside_a_transaction_is_refused_as_the_orm_refuses_it(alice: User) -> None:
    locking = CompiledQuery(lambda email: User.objects.select_for_update().filter(email=email).values_list("id"), "email")
    with pytest.raises(TransactionManagementError):
        locking.rows(email=alice.email)
    with transaction.atomic():
        assert locking.rows(email=alice.email) == [(alice.id,)]


@pytest.mark.django_db(transaction=True)  # a test's own transaction would hide the autocommit
def test_row_insert_or_lock_makes_a_missing_row_and_leaves_a_present_one_as_it_is(alice: User) -> None:
    with pytest.raises(TransactionManagementError):
        row_insert_or_lock(LockoutState(email="new@example.com"))  # a lock outside a transaction would end at once
    assert not LockoutState.objects.filter(email="new@example.com").exists()
    until = timezone.now() + timedelta(minutes=30)
    LockoutState.objects.create(email=alice.email, locked_until=until)
    with transaction.atomic():
        row_insert_or_lock(LockoutState(email="new@example.com"))
        row_insert_or_lock(LockoutState(email=alice.email))  # present: locked, not overwritten
    assert list(LockoutState.objects.order_by("email").values_list("email", "locked_until")) == [
        (alice.email, until),
        ("new@example.com", None),
    ]
    with pytest.raises(ValueError, match="only a row whose key the caller gives"), transaction.atomic():
        row_insert_or_lock(SecurityEvent(type="X"))  # its key is the database's to make


def test_insert_row_saves_what_create_saves_and_sets_the_generated_key(alice: User) -> None:
    inserted = insert_row(SecurityEvent(type="COMPILED_INSERT", user_id=alice.id, ip_address="10.1.2.3", metadata={"a": [1, 2]}))
    created = SecurityEvent.objects.create(type="COMPILED_INSERT", user_id=alice.id, ip_address="10.1.2.3", metadata={"a": [1, 2]})
    assert isinstance(inserted.pk, int)
    assert not inserted._state.adding
    stored = SecurityEvent.objects.get(pk=inserted.pk)
    columns = ("type", "user_id", "ip_address", "user_agent", "metadata")
    assert [getattr(stored, name) for name in columns] == [getattr(created, name) for name in columns]
    assert stored.created_at == inserted.created_at  # the field's default, taken when the instance was made


def test_insert_row_of_a_client_side_key_and_a_refused_duplicate(alice: User) -> None:
    session = insert_row(Session(user=alice, expires_at=timezone.now() + timedelta(days=1), method="password"))
    assert Session.objects.filter(pk=session.pk, user=alice).exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(Session(id=session.pk, user=alice, expires_at=timezone.now(), method="password"))


def test_row_update_changes_its_one_row(make_user: Callable[..., User]) -> None:
    ada, bea = make_user("ada@example.com", name="Ada"), make_user("bea@example.com", name="Bea")
    write_all(row_update(User, ada.pk, name="Ada L.", image=""))
    write_all(row_update(User, "no-such-user", name="Nobody", image=""))
    assert User.objects.get(pk=ada.pk).name == "Ada L."
    assert User.objects.get(pk=bea.pk).name == "Bea"
    assert not User.objects.filter(name="Nobody").exists()


def test_row_update_writes_null_as_well_as_values(alice: User) -> None:
    session = session_start(user=alice, origin=NO_ORIGIN, method="password").session
    now = timezone.now()
    write_all(row_update(Session, session.pk, revoked_at=now))
    assert Session.objects.get(pk=session.pk).revoked_at == now
    # One statement serves values and NULL alike, used in turn.
    write_all(row_update(Session, session.pk, revoked_at=None))
    assert Session.objects.get(pk=session.pk).revoked_at is None
    write_all(row_update(Session, session.pk, revoked_at=now))
    assert Session.objects.get(pk=session.pk).revoked_at == now


@pytest.fixture
def heard_saves() -> Iterator[list[str]]:
    """The types of the security events saved while the test runs, told by a post_save receiver."""
    heard: list[str] = []

    def receiver(sender: type[SecurityEvent], instance: SecurityEvent, **kwargs: Any) -> None:
        heard.append(instance.type)

    signals.post_save.connect(receiver, sender=SecurityEvent)
    yield heard
    signals.post_save.disconnect(receiver, sender=SecurityEvent)


def test_a_model_with_a_save_receiver_goes_through_the_orm(alice: User, heard_saves: list[str]) -> None:
    insert_row(SecurityEvent(type="HEARD", user_id=alice.id))
    write_all(row_update(SecurityEvent, 0, type="UNHEARD"))  # a queryset update sends no signal, through the ORM either
    assert heard_saves == ["HEARD"]


def test_write_all_is_one_statement_on_postgresql_and_one_a_write_elsewhere(alice: User, django_assert_num_queries: Any) -> None:
    session = session_start(user=alice, origin=NO_ORIGIN, method="password").session
    now = timezone.now()
    event = SecurityEvent(type="WRITTEN_TOGETHER", user_id=alice.id)
    statements = 1 if connection.vendor == "postgresql" else 3
    with django_assert_num_queries(statements):
        write_all(row_update(Session, session.pk, last_seen_at=now), row_update(User, alice.pk, name="Alice W."), row_insert(event))
    assert Session.objects.get(pk=session.pk).last_seen_at == now
    assert User.objects.get(pk=alice.pk).name == "Alice W."
    assert isinstance(event.pk, int) and not event._state.adding
    assert SecurityEvent.objects.get(pk=event.pk).type == "WRITTEN_TOGETHER"


def test_write_all_writes_nothing_when_one_write_fails(alice: User) -> None:
    session = session_start(user=alice, origin=NO_ORIGIN, method="password").session
    with pytest.raises(IntegrityError), transaction.atomic():
        write_all(
            row_update(User, alice.pk, name="Never"),
            row_insert(Session(id=session.pk, user=alice, expires_at=timezone.now(), method="password")),  # a duplicate key
        )
    assert User.objects.get(pk=alice.pk).name == alice.name


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("through_the_orm", [False, True], ids=["statements", "an-orm-save-and-a-statement"])
def test_write_all_is_all_or_nothing_in_autocommit(alice: User, heard_saves: list[str], through_the_orm: bool) -> None:
    """With no transaction of the caller's: on SQLite each write is its own statement, and a model
    with a save receiver goes through the ORM on either database; the first must not stay behind."""
    session = session_start(user=alice, origin=NO_ORIGIN, method="password").session
    first = row_insert(SecurityEvent(type="NEVER", user_id=alice.id)) if through_the_orm else row_update(User, alice.pk, name="Never")
    with pytest.raises(IntegrityError):
        write_all(first, row_insert(Session(id=session.pk, user=alice, expires_at=timezone.now(), method="password")))  # a duplicate key
    assert User.objects.get(pk=alice.pk).name == alice.name
    assert not SecurityEvent.objects.filter(type="NEVER").exists()
    assert heard_saves == (["NEVER"] if through_the_orm else [])  # the ORM's save ran, and was rolled back


def test_every_insert_run_together_takes_the_key_the_database_made(alice: User, django_assert_num_queries: Any) -> None:
    first, second = SecurityEvent(type="FIRST", user_id=alice.id), SecurityEvent(type="SECOND", user_id=alice.id)
    session = Session(user=alice, expires_at=timezone.now() + timedelta(days=1), method="password")  # a key made here
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 4):
        write_all(row_insert(first), row_insert(session), row_update(User, alice.pk, name="Alice W."), row_insert(second))
    assert isinstance(first.pk, int) and isinstance(second.pk, int) and first.pk != second.pk
    assert SecurityEvent.objects.get(pk=first.pk).type == "FIRST"
    assert SecurityEvent.objects.get(pk=second.pk).type == "SECOND"
    assert Session.objects.filter(pk=session.pk, user=alice).exists()
    assert User.objects.get(pk=alice.pk).name == "Alice W."


def test_write_all_saves_a_model_with_a_save_receiver_through_the_orm(alice: User, heard_saves: list[str]) -> None:
    write_all(row_insert(SecurityEvent(type="HEARD_TOGETHER", user_id=alice.id)), row_update(User, alice.pk, name="Alice W."))
    assert heard_saves == ["HEARD_TOGETHER"]
    assert User.objects.get(pk=alice.pk).name == "Alice W."


def test_a_key_set_by_hand_where_the_database_makes_one_is_inserted_as_save_inserts_it(alice: User) -> None:
    made = SecurityEvent(type="MADE_KEY", user_id=alice.id)
    write_all(row_insert(made))
    by_hand = insert_row(SecurityEvent(id=made.pk + 1000, type="HAND_MADE_KEY", user_id=alice.id))
    assert by_hand.pk == made.pk + 1000
    assert SecurityEvent.objects.get(pk=made.pk + 1000).type == "HAND_MADE_KEY"
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(SecurityEvent(id=made.pk + 1000, type="CLASH", user_id=alice.id))
    assert not SecurityEvent.objects.filter(type="CLASH").exists()


ID_BY_EMAIL = CompiledQuery(lambda email: User.objects.filter(email=email).values_list("id"), "email")


@pytest.mark.parametrize("keyed", [True, False], ids=["writes-with-keys-made", "writes-without"])
def test_writes_along_a_read_are_one_statement_and_written_whether_it_finds_a_row_or_not(
    alice: User, django_assert_num_queries: Any, keyed: bool
) -> None:
    for email, found in ((alice.email, [(alice.id,)]), ("nobody@example.com", [])):
        event = SecurityEvent(type=f"ALONG {email}", user_id=alice.id)
        along = [row_update(User, alice.pk, name=f"Read {email}"), *([row_insert(event)] if keyed else [])]
        with transaction.atomic(), django_assert_num_queries(1 if connection.vendor == "postgresql" else 1 + len(along)):
            assert ID_BY_EMAIL.rows(along, email=email) == found
        assert User.objects.get(pk=alice.pk).name == f"Read {email}"
        if keyed:
            assert isinstance(event.pk, int) and not event._state.adding
            assert SecurityEvent.objects.get(pk=event.pk).type == f"ALONG {email}"


def test_a_read_with_writes_along_converts_its_values_as_without(alice: User) -> None:
    security_event_record(type="COMPILED_TEST", user_id=alice.id, metadata={"nested": {"n": 1}})
    compiled = CompiledQuery(
        lambda user, kind: SecurityEvent.objects.filter(user_id=user, type=kind).values_list("metadata", "created_at"), "user", "kind"
    )
    alone = compiled.rows(user=alice.id, kind="COMPILED_TEST")
    with transaction.atomic():
        along = compiled.rows([row_insert(SecurityEvent(type="ALONG", user_id=alice.id))], user=alice.id, kind="COMPILED_TEST")
    assert along == alone and along[0][0] == {"nested": {"n": 1}} and along[0][1].tzinfo is not None


@pytest.mark.django_db(transaction=True)
def test_writes_along_a_read_outside_a_transaction_are_refused_unsent(alice: User) -> None:
    """What the caller makes of the rows (a refusal, say) must be able to undo the writes."""
    with pytest.raises(TransactionManagementError):
        ID_BY_EMAIL.rows([row_insert(SecurityEvent(type="NEVER", user_id=alice.id))], email=alice.email)
    assert not SecurityEvent.objects.filter(type="NEVER").exists()


AUDIT_OF = CompiledQuery(lambda user: VaultAudit.objects.filter(user_id=user).values_list("user_id", "action"), "user")


def _setting() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [SETTING])
        row = cursor.fetchone()
    return row[0] if row else None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # in autocommit, as a request runs: each statement is its own transaction
def test_statements_acting_as_a_user_meet_its_policies_and_the_setting_ends_with_each(alice: User, bob: User) -> None:
    def audit(user: User) -> VaultAudit:
        return VaultAudit(user_id=user.id, action=VaultAudit.Action.FETCH, status=200)

    with pytest.raises(DatabaseError, match="row-level security"):  # the policies bind this role
        write_all(row_insert(audit(alice)))
    write_all(row_insert_acting(audit(alice)), row_insert(SecurityEvent(type="ACTED", user_id=alice.id)), acting_as=alice.id)
    assert _setting() in (None, "")
    with pytest.raises(DatabaseError, match="row-level security"):  # acting as Alice, Bob's row is refused
        write_all(row_insert_acting(audit(bob)), acting_as=alice.id)

    assert AUDIT_OF.rows(user=alice.id) == []  # without the setting, her row is hidden
    assert AUDIT_OF.rows(acting_as=alice.id, user=alice.id) == [(alice.id, VaultAudit.Action.FETCH)]
    assert AUDIT_OF.rows(acting_as=bob.id, user=alice.id) == []
    assert _setting() in (None, "")
    assert SecurityEvent.objects.filter(type="ACTED").count() == 1
    with pytest.raises(ValueError, match="needs a user id"):
        AUDIT_OF.rows(acting_as="", user=alice.id)
    with pytest.raises(ValueError, match="need a statement"):
        write_all(acting_as=alice.id)
