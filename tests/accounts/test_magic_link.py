"""Magic-link sign-in: a mailed link signs in once, expires, bypasses the password lockout, verifies
the address, and still hands off to the second factor when one is enabled."""

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F
from rest_framework.test import APIClient

from accounts import totp
from accounts.models import EmailToken, User
from tests.notify import NotifyStub
from tests.support import AUTH, PASSWORD, Clock, enable, login, verify

pytestmark = pytest.mark.django_db


def request_link(api: APIClient, notify: NotifyStub, capture: Any, email: str) -> str:
    with capture(execute=True):
        assert api.post(f"{AUTH}/magic-link", {"email": email}, format="json").json() == {"success": True}
    return notify.to(email)[-1].link_token("magic-link")


def test_magic_link_signs_in_once(alice: User, api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks) -> None:
    token = request_link(api, notify, django_capture_on_commit_callbacks, alice.email)
    signed_in = api.post(f"{AUTH}/magic-link/verify", {"token": token}, format="json")
    assert signed_in.status_code == 200
    assert signed_in.json()["user"]["id"] == alice.id
    second = api.post(f"{AUTH}/magic-link/verify", {"token": token}, format="json")
    assert (second.status_code, second.json()["error"]) == (400, "TOKEN_INVALID")


def test_magic_link_expires_after_ten_minutes(alice: User, api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks) -> None:
    token = request_link(api, notify, django_capture_on_commit_callbacks, alice.email)
    EmailToken.objects.filter(purpose="magic_link").update(expires_at=F("created_at") + timedelta(minutes=10) - timedelta(minutes=11))
    expired = api.post(f"{AUTH}/magic-link/verify", {"token": token}, format="json")
    assert (expired.status_code, expired.json()["error"]) == (401, "TOKEN_EXPIRED")
    assert EmailToken.objects.get(purpose="magic_link").expires_at - EmailToken.objects.get(purpose="magic_link").created_at == timedelta(
        minutes=-1
    )


def test_magic_link_works_while_password_login_is_locked(
    alice: User, api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks
) -> None:
    for _ in range(5):
        login(api, alice.email, "wrong password!!")
    assert login(api, alice.email).json()["error"] == "ACCOUNT_LOCKED"
    token = request_link(api, notify, django_capture_on_commit_callbacks, alice.email)
    assert api.post(f"{AUTH}/magic-link/verify", {"token": token}, format="json").status_code == 200


def test_magic_link_verifies_the_address_and_still_asks_for_the_second_factor(
    make_user, client_for, api: APIClient, notify: NotifyStub, steps: Clock, django_capture_on_commit_callbacks
) -> None:
    unverified = make_user("fresh@example.com", verified=False)
    token = request_link(api, notify, django_capture_on_commit_callbacks, unverified.email)
    assert api.post(f"{AUTH}/magic-link/verify", {"token": token}, format="json").status_code == 200
    verified = User.objects.get(pk=unverified.pk)
    assert verified.email_verified
    assert not verified.has_usable_password()  # set before the address was proven (issue 18 #2)
    verified.set_password(PASSWORD)  # the owner's own, as by a reset
    verified.save(update_fields=["password"])

    secret = enable(client_for(unverified), steps)["secret"]
    token = request_link(api, notify, django_capture_on_commit_callbacks, unverified.email)
    handoff = api.post(f"{AUTH}/magic-link/verify", {"token": token}, format="json")
    assert handoff.json()["error"] == "TWO_FACTOR_REQUIRED"
    steps.step()
    assert verify(APIClient(), handoff.json()["twoFactorToken"], code=totp.code_at(secret, steps.now)).status_code == 200


@pytest.mark.usefixtures("one_rate_window")
def test_magic_link_is_silent_for_unknown_addresses_and_throttled(
    api: APIClient, alice: User, notify: NotifyStub, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{AUTH}/magic-link", {"email": "nobody@example.com"}, format="json").json() == {"success": True}
    assert notify.deliveries == []
    codes = [api.post(f"{AUTH}/magic-link", {"email": alice.email}, format="json").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # three per address in fifteen minutes
