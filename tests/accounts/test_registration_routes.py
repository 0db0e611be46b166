"""The routes around registration, through HTTP only (API.md §Accounts): the daily signup limit
and resending the verification mail. Mail goes through the real notify stub on loopback."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django import Settings
from rest_framework.test import APIClient

from accounts.models import User
from tests.notify import NotifyStub
from tests.support import AUTH, NEW_PASSWORD, Capture, assert_error

pytestmark = pytest.mark.django_db


# --- GET /signup-status -----------------------------------------------------------------------
def test_signup_status_without_a_daily_limit_is_open(api: APIClient) -> None:
    body = api.get(f"{AUTH}/signup-status").json()
    assert body["registrationOpen"] is True
    assert (body["spotsRemaining"], body["limit"], body["totalToday"]) == (None, None, 0)


def test_signup_limit_closes_registration_for_the_day(api: APIClient, settings: Settings) -> None:
    settings.MAX_DAILY_SIGNUPS = 2
    before = api.get(f"{AUTH}/signup-status").json()
    assert (before["registrationOpen"], before["spotsRemaining"], before["totalToday"], before["limit"]) == (True, 2, 0, 2)

    for email in ("one@example.com", "two@example.com"):
        response = api.post(f"{AUTH}/register", {"email": email, "password": NEW_PASSWORD}, format="json")
        assert response.status_code == 201, response.content
    third = api.post(f"{AUTH}/register", {"email": "three@example.com", "password": NEW_PASSWORD}, format="json")

    assert_error(third, 429, "SIGNUP_LIMIT_REACHED")
    assert not User.objects.filter(email="three@example.com").exists()
    after = api.get(f"{AUTH}/signup-status").json()
    assert (after["registrationOpen"], after["spotsRemaining"], after["totalToday"], after["limit"]) == (False, 0, 2, 2)
    tomorrow = timezone.now().date() + timedelta(days=1)
    assert after["resetsAt"].startswith(tomorrow.isoformat())


# --- POST /resend-verification ----------------------------------------------------------------
def test_resend_verification_mails_a_working_link_to_an_unverified_user(
    api: APIClient, make_user: Callable[..., User], notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    nora = make_user("nora@example.com", verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{AUTH}/resend-verification", {"email": "Nora@Example.com"}, format="json")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    [delivery] = notify.to("nora@example.com")
    verified = api.post(f"{AUTH}/verify-email", {"token": delivery.link_token("verify-email")}, format="json")
    assert verified.status_code == 200
    nora.refresh_from_db()
    assert nora.email_verified


def test_resend_verification_sends_nothing_to_a_verified_user(
    api: APIClient, alice: User, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{AUTH}/resend-verification", {"email": alice.email}, format="json")
    assert response.json() == {"success": True}
    assert notify.deliveries == []
