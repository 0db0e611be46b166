"""`parsed` and `represented` (core/api.py) use one serializer instance per class, built once, and
answer exactly as a fresh serializer per request did."""

from types import SimpleNamespace
from typing import Any, cast

import pytest
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from accounts.models import User
from accounts.serializers import LoginInput, UserSerializer
from core.api import parsed, represented
from grants.serializers import GrantInput
from passkeys.serializers import CeremonyInput

BODIES: list[Any] = [
    None,
    {},
    [],
    "text",
    {"email": 3, "password": None},
    {"email": "a@example.com", "password": "a passphrase"},
    {"missionId": "m-1", "tables": ["notes"], "recordIds": ["notes:1"]},
    {"missionId": "m-1", "tables": ["notes"], "recordIds": ["tasks:1"]},  # refused by validate()
    {"response": {"id": "x"}, "cancelled": False},
    {"cancelled": True},
]


def request_with(body: Any) -> Request:
    return cast(Request, SimpleNamespace(data=body))  # parsed reads the parsed body and nothing else


@pytest.mark.parametrize("serializer_class", [LoginInput, GrantInput, CeremonyInput])
@pytest.mark.parametrize("body", BODIES)
def test_parsed_answers_as_a_fresh_serializer(serializer_class: type[serializers.Serializer[Any]], body: Any) -> None:
    fresh = serializer_class(data=body)
    if fresh.is_valid():
        assert parsed(serializer_class, request_with(body)) == dict(fresh.validated_data)
    else:
        with pytest.raises(ValidationError) as refused:
            parsed(serializer_class, request_with(body))
        assert refused.value.detail == fresh.errors


def _counting(monkeypatch: pytest.MonkeyPatch, serializer_class: type[serializers.Serializer[Any]]) -> list[int]:
    builds: list[int] = []
    get_fields = serializer_class.get_fields

    def counted(self: serializers.Serializer[Any]) -> Any:
        builds.append(1)
        return get_fields(self)

    monkeypatch.setattr(serializer_class, "get_fields", counted)
    return builds


def test_the_fields_are_built_once_per_class(monkeypatch: pytest.MonkeyPatch) -> None:
    class NameInput(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=5)

    builds = _counting(monkeypatch, NameInput)
    for name in ("ada", "grace", "alan"):
        assert parsed(NameInput, request_with({"name": name})) == {"name": name}
    assert len(builds) == 1
    with pytest.raises(ValidationError):
        parsed(NameInput, request_with({"name": "too long"}))  # a refusal may build its own: DRF shapes the errors


@pytest.mark.django_db
def test_represented_is_the_serializers_data(make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    users: list[User] = [make_user("ada@example.com", name="Ada"), make_user("grace@example.com", name="Grace", verified=False)]
    for user in users:
        assert represented(UserSerializer, user) == UserSerializer(user).data
    builds = _counting(monkeypatch, UserSerializer)
    for user in users:
        represented(UserSerializer, user)
    assert builds == []  # built by the first calls above, not again
