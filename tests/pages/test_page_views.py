"""The pages' server side, with Django's test client (the browser tests cover what runs in Chromium)."""

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from spaces.models import Membership
from tests.notify import NotifyStub
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db


def browser(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.post("/login", {"email": user.email, "password": PASSWORD}).status_code == 302
    return client


def test_sign_out_everywhere_else(alice: User) -> None:
    here, elsewhere = browser(alice), browser(alice)
    assert here.post("/account/sessions/revoke-others").status_code == 302
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account")["Location"].startswith("/login")


def test_profile_email_and_password_forms(alice: User, notify: NotifyStub, django_capture_on_commit_callbacks: Any) -> None:
    client = browser(alice)
    client.post("/account/profile", {"name": "Alice Liddell"})
    assert User.objects.get(pk=alice.pk).name == "Alice Liddell"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/account/email", {"new_email": "alice@wonderland.example", "password": PASSWORD})
    token = notify.to("alice@wonderland.example")[0].link_token("confirm-email-change")
    assert client.get(f"/confirm-email-change?token={token}").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post("/confirm-email-change", {"token": token})
    assert "Email address changed" in confirmed.content.decode()
    weak = client.post("/account/password", {"current_password": PASSWORD, "new_password": "12345678"})
    assert "stronger password" in weak.content.decode()
    client.post("/account/password", {"current_password": PASSWORD, "new_password": "a brand new passphrase"})
    assert User.objects.get(pk=alice.pk).check_password("a brand new passphrase")


def test_magic_link_pages(alice: User, notify: NotifyStub, django_capture_on_commit_callbacks: Any) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/magic-link", {"email": alice.email})
    token = notify.to(alice.email)[0].link_token("magic-link")
    assert client.get(f"/magic-link?token={token}").status_code == 200
    assert client.post("/magic-link", {"token": token})["Location"] == "/account"
    again = Client(HTTP_ACCEPT_LANGUAGE="en").post("/magic-link", {"token": token})
    assert "not valid" in again.content.decode()


def test_accept_invitation_page(
    alice: User, bob: User, client_for: Any, notify: NotifyStub, django_capture_on_commit_callbacks: Any
) -> None:
    owner = client_for(alice)
    space = owner.post("/api/v1/spaces", {"name": "Page Team", "type": "team"}, format="json").json()["space"]
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(f"/api/v1/spaces/{space['id']}/invitations", {"email": bob.email, "role": "member"}, format="json")
    link = re.search(r"/accept-invitation\?id=(\S+)", notify.to(bob.email)[0].body["text"])
    assert link is not None
    anonymous = Client().get(f"/accept-invitation?id={link.group(1)}")
    assert anonymous["Location"].startswith("/login?next=")
    client = browser(bob)
    assert client.get(f"/accept-invitation?id={link.group(1)}").status_code == 200
    assert client.post("/accept-invitation", {"token": link.group(1)})["Location"] == "/account"
    assert Membership.objects.filter(space_id=space["id"], user=bob).exists()


def test_an_unverified_password_sign_in_is_told_to_verify(make_user: Any) -> None:
    user = make_user("new@example.com", verified=False)
    page = Client(HTTP_ACCEPT_LANGUAGE="en").post("/login", {"email": user.email, "password": PASSWORD})
    assert "confirm your email address first" in page.content.decode()


def test_logout_ends_the_sign_in_row(alice: User) -> None:
    client = browser(alice)
    assert client.post("/logout")["Location"] == "/login"
    assert client.get("/account")["Location"].startswith("/login")
    assert alice.sessions.filter(revoked_at__isnull=True).count() == 0
