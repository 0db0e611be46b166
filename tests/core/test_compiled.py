"""core.compiled: a queryset compiled once answers like the ORM for every later call's values."""

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Session, User
from accounts.services.tokens import session_start
from core.compiled import CompiledQuery, field_names, instances
from core.models import SecurityEvent
from core.origin import NO_ORIGIN
from core.services import security_event_record

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


def test_a_slot_the_sql_does_not_carry_is_refused(alice: User) -> None:
    unused = CompiledQuery(lambda email, name: User.objects.filter(email=email).values_list("id"), "email", "name")
    with pytest.raises(ValueError, match="slot"):
        unused.rows(email=alice.email, name="Alice")
