"""The two registries of core: every app's personal-data hooks and every app's rewrapper."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command

from core import personal_data, rewrap


def test_every_model_with_a_kek_wrapped_column_has_a_rewrapper() -> None:
    """A new KEK-wrapped column without a rewrapper would stay under a retired KEK forever.
    (Vault.recovery_wrapped_mk is wrapped by the user's recovery code, not the KEK.)"""
    wrapped = {
        model
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if "wrapped" in field.name and not field.name.startswith("recovery_")
    }
    assert wrapped
    assert {model.__name__ for model in wrapped} - {model.__name__ for model in rewrap.covered_models()} == set()


def test_rewrappers_run_in_their_declared_order() -> None:
    assert [label for label, _ in rewrap.rewrappers()] == [
        "vaults",
        "JWT signing keys",
        "OIDC signing keys",
        "TOTP secrets",
        "outbox messages",
    ]


@pytest.mark.django_db
def test_rewrap_secrets_reports_every_registered_secret() -> None:
    out = io.StringIO()
    call_command("rewrap_secrets", stdout=out)
    assert "Done: 0 of 0 vaults, 0 JWT signing keys, 0 OIDC signing keys, 0 TOTP secrets, 0 outbox messages re-wrapped." in out.getvalue()


def test_summaries_merge_every_apps_counts_and_blockers_collect_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(personal_data, "_SUMMARIES", [lambda user: {"a": 1}, lambda user: {"b": user}])
    monkeypatch.setattr(personal_data, "_BLOCKERS", [lambda user: None, lambda user: "Hand over the space first."])
    assert personal_data.summary_sections("u") == {"a": 1, "b": "u"}
    assert personal_data.erasure_blockers("u") == ["Hand over the space first."]


def test_user_created_and_erase_run_every_hook_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(
        personal_data, "_ON_USER_CREATED", [lambda user: calls.append(f"created-1 {user}"), lambda user: calls.append(f"created-2 {user}")]
    )
    monkeypatch.setattr(personal_data, "_ERASERS", [lambda user: calls.append(f"erased {user}")])
    personal_data.user_created("u")
    personal_data.erase("u")
    assert calls == ["created-1 u", "created-2 u", "erased u"]


def test_the_apps_register_their_hooks() -> None:
    """What accounts runs at registration, erasure and in the summary comes from the apps above it."""
    assert any(hook.__module__ == "spaces.personal_data" for hook in personal_data._ON_USER_CREATED)
    assert any(hook.__module__ == "spaces.personal_data" for hook in personal_data._BLOCKERS)
    assert {hook.__module__ for hook in personal_data._SUMMARIES} >= {
        "accounts.personal_data",
        "passkeys.personal_data",
        "spaces.personal_data",
        "vault.personal_data",
        "grants.personal_data",
    }
