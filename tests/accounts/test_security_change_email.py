"""Issue 18 #11 (and #14): change-email mails a stranger's mailbox and answers whether an address
is registered, so it is limited per user and per target address."""

import pytest

from accounts.models import EmailToken, User
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

CHANGE = "/api/v1/auth/change-email"


@pytest.mark.usefixtures("one_rate_window")
def test_attack_change_email_mail_bomb_to_one_address_is_throttled(
    alice: User, bob: User, client_for, django_capture_on_commit_callbacks
) -> None:
    body = {"newEmail": "victim@example.com", "password": PASSWORD}
    with django_capture_on_commit_callbacks(execute=False):
        statuses = [client_for(user).post(CHANGE, body, format="json").status_code for user in (alice, bob, alice, bob)]
    assert statuses == [200, 200, 200, 429]
    assert EmailToken.objects.filter(new_email="victim@example.com").count() == 3


@pytest.mark.usefixtures("one_rate_window")
def test_attack_change_email_probes_registered_addresses_without_limit(alice: User, client_for, make_user) -> None:
    for n in range(3):
        make_user(f"known{n}@example.com")
    client = client_for(alice)
    bodies = [{"newEmail": f"known{n % 3}@example.com", "password": PASSWORD} for n in range(6)]
    statuses = [client.post(CHANGE, body, format="json").status_code for body in bodies]
    assert statuses == [409] * 5 + [429]
