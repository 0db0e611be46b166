"""POST /api/v1/me/bootstrap-singletons as the web app sends it after sign-in (PLATFORM.md §5, §10):
no body, a Bearer token; it only logs the answer."""

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.data_rights import account_erase
from spaces.models import MemberRole, Membership, SingletonBootstrap, Space
from spaces.services import personal_space_create
from tests.support import assert_error

pytestmark = pytest.mark.django_db

BOOTSTRAP = "/api/v1/me/bootstrap-singletons"


@pytest.fixture
def spaces(alice: User, bob: User) -> dict[str, Space]:
    """alice and bob each have their personal space; both are in alice's team space."""
    team = Space.objects.create(name="Acme Team", slug="acme-team", type="team")
    Membership.objects.create(space=team, user=alice, role=MemberRole.OWNER)
    Membership.objects.create(space=team, user=bob, role=MemberRole.MEMBER)
    return {"alice": personal_space_create(user=alice), "bob": personal_space_create(user=bob), "team": team}


def test_web_app_bootstrap_is_true_the_first_time_and_false_after(alice: User, client_for, spaces: dict[str, Space]) -> None:
    client = client_for(alice)

    first = client.post(BOOTSTRAP)
    again = client.post(BOOTSTRAP, content_type="application/json")  # an empty JSON body counts as {}

    assert first.status_code == 200
    assert first.json() == {
        "ok": True,
        "bootstrapped": {"userContext": True, "spaces": {spaces["alice"].id: True, spaces["team"].id: True}},
    }
    assert again.status_code == 200
    assert again.json() == {
        "ok": True,
        "bootstrapped": {"userContext": False, "spaces": {spaces["alice"].id: False, spaces["team"].id: False}},
    }
    assert SingletonBootstrap.objects.filter(user=alice).count() == 1
    assert SingletonBootstrap.objects.filter(space__in=[spaces["alice"], spaces["team"]]).count() == 2


def test_web_app_bootstrap_of_a_shared_space_happens_once_for_all_its_members(
    alice: User, bob: User, client_for, spaces: dict[str, Space]
) -> None:
    client_for(alice).post(BOOTSTRAP)

    response = client_for(bob).post(BOOTSTRAP)

    assert response.json()["bootstrapped"] == {"userContext": True, "spaces": {spaces["bob"].id: True, spaces["team"].id: False}}


def test_web_app_bootstrap_names_only_the_callers_spaces(charlie: User, client_for, spaces: dict[str, Space]) -> None:
    """A stranger to every space: its own userContext, no space of anyone else."""
    response = client_for(charlie).post(BOOTSTRAP)

    assert response.json() == {"ok": True, "bootstrapped": {"userContext": True, "spaces": {}}}
    assert not SingletonBootstrap.objects.filter(space__isnull=False).exists()


def test_web_app_bootstrap_without_a_token_is_401(spaces: dict[str, Space]) -> None:
    assert_error(APIClient().post(BOOTSTRAP), 401, "UNAUTHORIZED")
    assert not SingletonBootstrap.objects.exists()


def test_the_bootstrap_records_go_with_the_user_and_the_personal_space(alice: User, bob: User, client_for, spaces) -> None:
    client_for(bob).post(BOOTSTRAP)

    account_erase(user=User.objects.get(pk=bob.pk))

    assert list(SingletonBootstrap.objects.values_list("space_id", flat=True)) == [spaces["team"].id]
