"""Races on PostgreSQL: many requests for one effect, exactly one effect."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from core.origin import NO_ORIGIN
from spaces import services as space_services
from spaces.models import Membership
from tests.passkeys.authenticator import SoftAuthenticator
from tests.support import RunConcurrently, sign_in

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_parallel_registrations_of_one_address_make_one_account(run_concurrently: RunConcurrently) -> None:
    body = {"email": "twin@example.com", "password": "a sturdy passphrase 42"}
    statuses = run_concurrently(
        lambda n: APIClient().post("/api/v1/auth/register", body, format="json", REMOTE_ADDR=f"10.7.0.{n + 1}").status_code, 8
    )
    assert sorted(statuses) == [201] + [409] * 7
    assert User.objects.filter(email="twin@example.com").count() == 1
    assert Membership.objects.filter(user__email="twin@example.com").count() == 1  # one personal space


def test_parallel_verifies_of_one_passkey_assertion_sign_in_once(make_user: Any, run_concurrently: RunConcurrently) -> None:
    user = make_user("keyrace@example.com")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(APIClient(), user.email)['accessToken']}")
    authenticator = SoftAuthenticator()
    options = client.post("/api/v1/auth/passkeys/register/options").json()
    client.post(
        "/api/v1/auth/passkeys/register/verify",
        {"response": authenticator.create(options=options, origin="http://localhost:8000")},
        format="json",
    )
    request = APIClient().post("/api/v1/auth/passkeys/authenticate/options", {"email": user.email}, format="json").json()
    assertion = authenticator.get(options=request, origin="http://localhost:8000")
    statuses = run_concurrently(
        lambda n: APIClient().post("/api/v1/auth/passkeys/authenticate/verify", {"response": assertion}, format="json").status_code, 6
    )
    assert sorted(statuses) == [200] + [401] * 5


def test_parallel_accepts_of_one_invitation_make_one_membership(make_user: Any, run_concurrently: RunConcurrently) -> None:
    owner, guest = make_user("owner@example.com"), make_user("guest@example.com")
    owner_client = APIClient()
    owner_client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(APIClient(), owner.email)['accessToken']}")
    space_id = owner_client.post("/api/v1/spaces", {"name": "Race", "type": "team"}, format="json").json()["space"]["id"]
    # The mailed link names the invitation by its id (PLATFORM.md §4).
    token = space_services.invitation_create(actor=owner, space_id=space_id, email=guest.email, role="member", origin=NO_ORIGIN).id
    guest_token = sign_in(APIClient(), guest.email)["accessToken"]

    def accept(n: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {guest_token}")
        return int(client.post(f"/api/v1/spaces/invitations/{token}/accept").status_code)

    assert run_concurrently(accept, 6) == [200] * 6  # accepting twice is a no-op, not an error
    assert Membership.objects.filter(space_id=space_id, user=guest).count() == 1
