"""Hooks an app registers so that a layer below it can tell it something happened, without
importing it (the rule that an app imports only from below).

`on_sessions_ended`: accounts ends sign-ins (a revocation, sign-out everywhere, a password reset
or change, an operator); the apps that bind credentials to the session that added them
(passkeys, API keys) remove those. A hook gets a query of session rows and runs inside the
transaction that ends them, so the credentials go exactly when the sessions do."""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

SessionsHook = Callable[[QuerySet[Any]], None]
_ON_SESSIONS_ENDED: list[SessionsHook] = []


def on_sessions_ended(function: SessionsHook) -> SessionsHook:
    """Register `function(sessions)`; `sessions` may include sessions that had ended before."""
    _ON_SESSIONS_ENDED.append(function)
    return function


def sessions_ended(sessions: QuerySet[Any]) -> None:
    for function in _ON_SESSIONS_ENDED:
        function(sessions)
