"""A lock must never close every door: whatever a stranger does with the victim's address (wrong
passwords, magic-link requests, garbage passkey assertions), the owner still gets in."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.magic_link import MAGIC_LINK_MAILBOX_LIMIT
from tests.notify import NotifyStub
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.test_passkeys import assertion, register
from tests.passkeys.test_passkeys import verify as passkey_verify
from tests.support import AUTH, login

pytestmark = pytest.mark.django_db

OWNER_IP = "198.51.100.7"


def stranger(number: int = 1) -> APIClient:
    return APIClient(REMOTE_ADDR=f"203.0.113.{number}")


def magic_link(client: APIClient, email: str) -> int:
    return int(client.post(f"{AUTH}/magic-link", {"email": email}, format="json").status_code)


def magic_link_sign_in(notify: NotifyStub, email: str) -> Any:
    token = notify.to(email)[-1].link_token("magic-link")
    return APIClient(REMOTE_ADDR=OWNER_IP).post(f"{AUTH}/magic-link/verify", {"token": token}, format="json")


@pytest.mark.usefixtures("one_rate_window")
def test_attack_a_stranger_cannot_close_every_door(alice: User, client_for, notify: NotifyStub, django_capture_on_commit_callbacks) -> None:
    key = SoftAuthenticator()
    register(client_for(alice), key)
    attacker = stranger()
    for _ in range(5):
        login(attacker, alice.email, "wrong password!!")
    with django_capture_on_commit_callbacks(execute=True):
        assert [magic_link(attacker, alice.email) for _ in range(4)] == [200, 200, 200, 429]  # the stranger's own budget
    for _ in range(11):
        passkey_verify(key.sign_with_other_key(assertion(key)), attacker)

    owner = APIClient(REMOTE_ADDR=OWNER_IP)
    assert login(owner, alice.email).status_code == 429  # the password door is locked, by design
    mailed = len(notify.to(alice.email))
    with django_capture_on_commit_callbacks(execute=True):
        assert magic_link(owner, alice.email) == 200
    assert len(notify.to(alice.email)) == mailed + 1
    assert magic_link_sign_in(notify, alice.email).status_code == 200
    assert passkey_verify(assertion(key, alice.email), owner).status_code == 200
    assert passkey_verify(assertion(key), owner).json()["user"]["id"] == alice.id  # discoverable sign-in


@pytest.mark.usefixtures("one_rate_window")
def test_attack_strangers_on_many_addresses_cannot_starve_the_owner_of_a_magic_link(
    alice: User, notify: NotifyStub, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        codes = [magic_link(stranger(number), alice.email) for number in range(1, 6) for _ in range(3)]
        assert codes == [200] * 15  # each stranger within its own budget
        assert magic_link(APIClient(REMOTE_ADDR=OWNER_IP), alice.email) == 200
    assert len(notify.to(alice.email)) == MAGIC_LINK_MAILBOX_LIMIT.limit  # the mailbox is not flooded
    assert magic_link_sign_in(notify, alice.email).status_code == 200  # and the newest link still opens it
