"""What each app holds about a person, as hooks the app registers in its `personal_data` module:
its part of the export and of the summary, what it erases, what blocks an erasure, and what it
makes for a new user. Accounts runs them without importing the apps above it.

Each exporter declares the models it covers, so a test can fail when a model that points at a
user has none."""

from collections.abc import Callable
from typing import Any

from django.db.models import Model

Hook = Callable[[Any], Any]
_EXPORTERS: dict[str, tuple[tuple[type[Model], ...], Hook]] = {}
_SUMMARIES: list[Hook] = []
_ERASERS: list[Hook] = []
_BLOCKERS: list[Hook] = []
_ON_USER_CREATED: list[Hook] = []


def exporter(section: str, *models: type[Model]) -> Callable[[Hook], Hook]:
    """Register `function(user) -> JSON-ready data` as the `section` of the export."""

    def register(function: Hook) -> Hook:
        _EXPORTERS[section] = (models, function)
        return function

    return register


def _adder(hooks: list[Hook]) -> Callable[[Hook], Hook]:
    def register(function: Hook) -> Hook:
        hooks.append(function)
        return function

    return register


# `function(user) -> dict`: the app's counts in the data summary (no secrets, no keys).
summary = _adder(_SUMMARIES)
# `function(user) -> None`: run inside the erasure's transaction, before the user row goes
# (rows that cascade from the user need no eraser).
eraser = _adder(_ERASERS)
# `function(user) -> str | None`: a sentence saying why the user cannot be erased yet.
erasure_blocker = _adder(_BLOCKERS)
# `function(user) -> None`: run inside the registration's transaction.
on_user_created = _adder(_ON_USER_CREATED)


def export_sections(user: Any) -> dict[str, Any]:
    return {section: function(user) for section, (_, function) in sorted(_EXPORTERS.items())}


def summary_sections(user: Any) -> dict[str, Any]:
    sections: dict[str, Any] = {}
    for function in _SUMMARIES:
        sections |= function(user)
    return sections


def erasure_blockers(user: Any) -> list[str]:
    return [reason for reason in (function(user) for function in _BLOCKERS) if reason]


def erase(user: Any) -> None:
    for function in _ERASERS:
        function(user)


def user_created(user: Any) -> None:
    for function in _ON_USER_CREATED:
        function(user)


def covered_models() -> set[type[Model]]:
    return {model for models, _ in _EXPORTERS.values() for model in models}
