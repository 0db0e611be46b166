import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import (
    LockoutState,
    LoginAttempt,
    Session,
    User,
)
from core.models import SecurityEvent
from core.rls import acting_as
from grants.models import DecryptAudit
from mail.models import OutboxMessage
from tests.support import PASSWORD, sign_in
from vault.models import VaultAudit

pytestmark = pytest.mark.django_db


def page_sign_in(client: Client, email: str, password: str = PASSWORD, next_url: str = "/admin/") -> Any:
    return client.post("/login", {"email": email, "password": password, "next": next_url}, HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def operator(make_user) -> User:
    return make_user("ops@example.com", name="Ops", is_staff=True, is_superuser=True, role="admin")


@pytest.fixture
def console(operator: User) -> Client:
    client = Client()
    assert page_sign_in(client, operator.email).status_code == 302
    return client


def admin_pages(user_id: str) -> list[str]:
    """Every changelist, and the change page of the first object of each model."""
    pages = []
    for model, model_admin in admin.site._registry.items():
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        scoped = getattr(model_admin, "user_lookup", None)
        pages.append(f"{changelist}?{scoped}={user_id}" if scoped else changelist)
        first = model._default_manager.first() if not scoped else None
        if first is not None:
            pages.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[first.pk]))
    return pages


def test_every_admin_page_renders_and_no_secret_appears(console: Client, seeded: dict[str, str], alice: User) -> None:
    assert len(seeded) >= 12
    pages = ["/admin/", *admin_pages(alice.id), reverse("admin:accounts_user_change", args=[alice.pk])]
    for url in pages:
        response = console.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for name, secret in seeded.items():
            assert secret not in body, f"{name} shown on {url}"
    user_page = console.get(reverse("admin:accounts_user_change", args=[alice.pk])).content.decode()
    assert "kek_id: env-v1" in user_page  # vault metadata, through the operator path
    assert "grant" not in seeded or "fetch" in user_page


def test_unlock_from_the_admin_lets_the_next_correct_password_in(console: Client, operator: User, bob: User) -> None:
    for _ in range(5):
        APIClient().post("/api/v1/auth/login", {"email": bob.email, "password": "wrong password!"}, format="json")
    assert APIClient().post("/api/v1/auth/login", {"email": bob.email, "password": PASSWORD}, format="json").status_code == 429
    state = LockoutState.objects.get(email=bob.email)
    response = console.post(reverse("admin:accounts_lockoutstate_changelist"), {"action": "unlock", "_selected_action": [state.pk]})
    assert response.status_code == 302
    assert APIClient().post("/api/v1/auth/login", {"email": bob.email, "password": PASSWORD}, format="json").status_code == 200
    event = SecurityEvent.objects.get(type="ADMIN_ACTION")
    assert event.user_id == bob.id
    assert (event.metadata["action"], event.metadata["operatorId"], event.metadata["targetId"]) == ("unlock", operator.id, bob.id)


def test_user_actions_are_service_calls_with_events(console: Client, operator: User, bob: User, client_for) -> None:
    bob_api = client_for(bob)
    url = reverse("admin:accounts_user_changelist")
    for action in ("revoke_sessions", "verify_email", "set_tier_beta", "set_role_admin"):
        assert console.post(url, {"action": action, "_selected_action": [bob.pk]}).status_code == 302
    assert bob_api.get("/api/v1/auth/profile").status_code == 401
    refreshed = User.objects.get(pk=bob.pk)
    assert (refreshed.tier, refreshed.role) == ("beta", "admin")
    assert SecurityEvent.objects.filter(type="ADMIN_ACTION", user=bob, metadata__operatorId=operator.id).count() == 4
    console.post(url, {"action": "force_password_reset", "_selected_action": [bob.pk]})
    assert not User.objects.get(pk=bob.pk).has_usable_password()


def test_audit_rows_cannot_be_changed_or_deleted(console: Client, seeded: dict[str, str], alice: User) -> None:
    event, attempt = SecurityEvent.objects.first(), LoginAttempt.objects.first()
    assert event is not None
    assert attempt is not None
    for model, pk in (("core_securityevent", event.pk), ("accounts_loginattempt", attempt.pk)):
        assert console.post(reverse(f"admin:{model}_change", args=[pk]), {"type": "FORGED"}).status_code == 403
        assert console.post(reverse(f"admin:{model}_delete", args=[pk]), {"post": "yes"}).status_code == 403
    bulk = console.post(
        reverse("admin:core_securityevent_changelist"), {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)
    assert SecurityEvent.objects.filter(pk=event.pk, type=event.type).exists()
    with acting_as(alice.id):
        audit = VaultAudit.objects.first()
        decrypt = DecryptAudit.objects.first()
        assert audit is not None and decrypt is not None
    assert console.post(reverse("admin:vault_vaultaudit_delete", args=[audit.pk]), {"post": "yes"}).status_code == 403
    assert console.post(reverse("admin:grants_decryptaudit_change", args=[decrypt.pk]), {"status": "failed"}).status_code == 403
    with acting_as(alice.id):
        assert VaultAudit.objects.filter(pk=audit.pk).exists()


def test_the_admin_sign_in_is_the_locked_out_sign_in(operator: User) -> None:
    client = Client()
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/login/?next=/admin/")["Location"].startswith("/login?")
    for _ in range(5):
        page_sign_in(client, operator.email, "wrong password!")
    locked = page_sign_in(client, operator.email)
    assert locked.status_code == 200
    assert "paused" in locked.content.decode()
    # Posting straight to the admin's own login changes nothing either.
    client.post("/admin/login/", {"username": operator.email, "password": PASSWORD})
    assert client.get("/admin/").status_code == 302


def test_a_bearer_token_alone_does_not_open_the_admin(operator: User) -> None:
    token = sign_in(APIClient(), operator.email)["accessToken"]
    response = Client().get("/admin/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 302


def test_staff_need_a_second_factor_when_required(console: Client, operator: User, settings) -> None:
    settings.ADMIN_REQUIRE_2FA = True
    refused = console.get("/admin/", follow=True)
    assert refused.status_code == 403
    Session.objects.filter(user=operator).update(method="password+totp")
    assert console.get("/admin/").status_code == 200


def test_non_staff_cannot_enter(alice: User) -> None:
    client = Client()
    page_sign_in(client, alice.email)
    assert client.get("/admin/", follow=True).status_code == 403


# --- the admin REST API -----------------------------------------------------------------------------
def test_stats_count_the_seeded_data_exactly(client_for, make_user, operator: User) -> None:
    now = timezone.now()
    old = [make_user(f"old{n}@example.com") for n in range(3)]
    User.objects.filter(pk__in=[u.pk for u in old]).update(created_at=now - timedelta(days=40))
    month = make_user("month@example.com")
    User.objects.filter(pk=month.pk).update(created_at=now - timedelta(days=20))
    make_user("week@example.com")
    for _ in range(2):
        APIClient().post("/api/v1/auth/login", {"email": "week@example.com", "password": "nope nope nope"}, format="json")
    admin_client = client_for(operator)  # one LOGIN_SUCCESS, one active session
    sign_in(APIClient(), "week@example.com")  # another success and session
    stale = sign_in(APIClient(), "month@example.com")
    Session.objects.filter(user=month).update(last_seen_at=now - timedelta(days=2), revoked_at=now)
    assert stale
    stats = admin_client.get("/api/v1/admin/stats").json()
    generated = stats.pop("generatedAt")
    assert stats == {
        "totalUsers": 6,
        "newUsers7d": 2,  # week@ and the operator
        "newUsers30d": 3,
        "activeSessions": 2,
        "uniqueUsers24h": 2,
        "loginSuccess7d": 3,
        "loginFailed7d": 2,
    }
    assert generated[:16] == timezone.now().isoformat()[:16]


def test_admin_api_is_for_admins(alice: User, client_for, operator: User, charlie: User) -> None:
    for client, status in ((APIClient(), 401), (client_for(alice), 403)):
        for response in (
            client.get("/api/v1/admin/stats"),
            client.get("/api/v1/admin/users"),
            client.get(f"/api/v1/admin/users/{charlie.id}/data"),
            client.delete(f"/api/v1/admin/users/{charlie.id}/data"),
            client.post(f"/api/v1/admin/users/{charlie.id}/unlock"),
        ):
            assert response.status_code == status
            assert response.json()["error"] == ("UNAUTHORIZED" if status == 401 else "FORBIDDEN")
    assert User.objects.filter(pk=charlie.pk).exists()


def test_admin_users_list_data_unlock_and_delete(client_for, operator: User, alice: User, charlie: User) -> None:
    client = client_for(operator)
    listed = client.get("/api/v1/admin/users?limit=2&page=1").json()
    assert (listed["total"], len(listed["users"]), listed["page"], listed["limit"]) == (3, 2, 1, 2)
    assert all(set(u) == {"id", "email", "name", "role", "createdAt", "lastActiveAt"} for u in listed["users"])
    assert "password" not in str(listed)
    found = client.get("/api/v1/admin/users?search=CHARL").json()
    assert [u["email"] for u in found["users"]] == ["charlie@example.com"]
    too_many = client.get("/api/v1/admin/users?limit=101")
    assert (too_many.status_code, list(too_many.json()["fields"])) == (400, ["limit"])
    summary = client.get(f"/api/v1/admin/users/{alice.id}/data").json()
    assert summary["user"]["id"] == alice.id
    assert set(summary) == {"user", "auth", "credits", "projects", "totals"}  # the owner's own summary (PLATFORM.md §5)
    assert summary["auth"]["sessionsCount"] == 0
    assert client.get("/api/v1/admin/users/nobody/data").status_code == 404
    for _ in range(5):
        APIClient().post("/api/v1/auth/login", {"email": charlie.email, "password": "wrong password!"}, format="json")
    assert client.post(f"/api/v1/admin/users/{charlie.id}/unlock").json() == {"success": True}
    assert APIClient().post("/api/v1/auth/login", {"email": charlie.email, "password": PASSWORD}, format="json").status_code == 200
    assert client.delete(f"/api/v1/admin/users/{charlie.id}/data").json() == {
        "success": True,
        "deletedFromProjects": [],
        "deletedFromAuth": {"sessions": 1, "accounts": 1, "credits": 0, "user": True},
        "totalDeleted": 3,
    }
    assert not User.objects.filter(pk=charlie.pk).exists()
    assert SecurityEvent.objects.filter(type="ADMIN_ACTION", metadata__action="delete_user", metadata__targetId=charlie.id).exists()


def test_createsuperuser_works_with_the_custom_user() -> None:
    call_command("createsuperuser", "--noinput", "--email", "Root@Example.com", stdout=io.StringIO())
    root = User.objects.get(email="root@example.com")
    assert (root.is_superuser, root.is_staff, root.role) == (True, True, "admin")


def test_retry_from_the_outbox_admin(console: Client, alice: User, notify, django_capture_on_commit_callbacks) -> None:
    notify.stop()
    with django_capture_on_commit_callbacks(execute=True):
        APIClient().post("/api/v1/auth/forgot-password", {"email": alice.email}, format="json")
    message = OutboxMessage.objects.get()
    assert message.status == "pending"
    notify.start()
    OutboxMessage.objects.update(next_attempt_at=F("next_attempt_at") + timedelta(hours=1))
    console.post(reverse("admin:mail_outboxmessage_changelist"), {"action": "retry", "_selected_action": [message.pk]})
    assert OutboxMessage.objects.get().status == "sent"
    assert len(notify.to(alice.email)) == 1


def test_web_admin_area_sees_when_each_user_was_last_active(client_for, operator: User, alice: User, charlie: User) -> None:
    client = client_for(operator)
    client_for(alice)
    seen = timezone.now() - timedelta(hours=3)
    Session.objects.filter(user=alice).update(last_seen_at=seen)
    users = {u["email"]: u for u in client.get("/api/v1/admin/users").json()["users"]}
    assert users[alice.email]["lastActiveAt"][:19] == seen.isoformat()[:19]
    assert users[charlie.email]["lastActiveAt"] is None  # never signed in
    assert (users[operator.email]["role"], users[alice.email]["role"]) == ("admin", "user")
