"""The two vault actions that change who holds the master key need a recent sign-in: an access
token lifted from a session signed in long ago must not rotate the key or hand it back to the server."""

import base64
import os
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Session, User
from core.rls import acting_as
from tests.support import assert_error
from vault.models import Vault, VaultAudit

pytestmark = pytest.mark.django_db

BASE = "/api/v1/me/encryption-vault"


def vault_of(user: User) -> Vault:
    with acting_as(user.id):
        return Vault.objects.get(user=user)


def failed_audits(user: User) -> list[tuple[str, int]]:
    with acting_as(user.id):
        return list(VaultAudit.objects.filter(user=user, status__gte=400).order_by("id").values_list("action", "status"))


def age_sessions(user: User) -> None:
    Session.objects.filter(user=user).update(created_at=timezone.now() - timedelta(minutes=16))


def test_attack_token_of_an_old_session_cannot_rotate_the_vault_key(alice: User, client_for: Callable[[User], APIClient]) -> None:
    client = client_for(alice)
    master_key = client.post(f"{BASE}/init").json()["masterKey"]
    age_sessions(alice)

    assert_error(client.post(f"{BASE}/rotate"), 401, "REAUTHENTICATION_REQUIRED")
    assert client.get(f"{BASE}/key").json()["masterKey"] == master_key  # the key is unchanged
    assert vault_of(alice).rotated_at is None
    assert failed_audits(alice) == [("rotate", 401)]

    fresh = client_for(alice)  # signing in again is all it takes
    assert fresh.post(f"{BASE}/rotate").json()["masterKey"] != master_key


def test_attack_token_of_an_old_session_cannot_turn_zero_knowledge_off(alice: User, client_for: Callable[[User], APIClient]) -> None:
    client = client_for(alice)
    master_key = client.post(f"{BASE}/init").json()["masterKey"]
    recovery = {"recoveryWrappedMk": base64.b64encode(os.urandom(48)).decode(), "recoveryIv": base64.b64encode(os.urandom(12)).decode()}
    assert client.post(f"{BASE}/recovery-wrap", recovery, format="json").status_code == 200
    assert client.post(f"{BASE}/zero-knowledge", {"enable": True}, format="json").status_code == 200
    age_sessions(alice)

    off = client.post(f"{BASE}/zero-knowledge", {"enable": False, "masterKey": master_key}, format="json")
    assert_error(off, 401, "REAUTHENTICATION_REQUIRED")
    vault = vault_of(alice)
    assert (vault.zero_knowledge, vault.wrapped_mk) == (True, None)  # the server still cannot unwrap
    assert failed_audits(alice) == [("zk_disable", 401)]

    fresh = client_for(alice)
    assert fresh.post(f"{BASE}/zero-knowledge", {"enable": False, "masterKey": master_key}, format="json").json() == {
        "ok": True,
        "zeroKnowledge": False,
    }
