import json
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.db.models import F
from rest_framework.test import APIClient

from accounts.models import Session, User
from core.models import SecurityEvent
from core.personal_data import covered_models
from core.rls import acting_as
from spaces.models import Membership
from tests.notify import NotifyStub
from tests.passkeys.authenticator import SoftAuthenticator
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def models_pointing_at_users() -> list[tuple[type[models.Model], str]]:
    found = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.ForeignKey | models.OneToOneField) and field.related_model is User and field.concrete:
                found.append((model, field.name))
    return found


def rows_referencing(user_id: str) -> dict[str, int]:
    counts = {}
    with acting_as(user_id):  # the vault and decrypt audit are behind row-level security
        for model, field in models_pointing_at_users():
            count = model._default_manager.filter(**{f"{field}_id": user_id}).count()
            if count:
                counts[f"{model.__name__}.{field}"] = count
    return counts


def test_every_model_that_points_at_a_user_has_an_exporter() -> None:
    missing = {model.__name__ for model, _ in models_pointing_at_users()} - {model.__name__ for model in covered_models()}
    assert missing == set()


def test_the_export_holds_every_record_and_no_secret(seeded: dict[str, str], alice: User, bob: User, client_for) -> None:
    client = client_for(alice)
    client.patch("/api/v1/settings/global", {"theme": {"mode": "dark"}}, format="json")
    APIClient().post("/api/v1/auth/forgot-password", {"email": alice.email}, format="json")  # a mailed link and a mail
    response = client.get(f"{ME}/data/export")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="mana-auth-export-')
    export = json.loads(response.content)
    assert export["exportVersion"] == 1
    assert export["profile"]["email"] == alice.email
    sections = {key for key, value in export.items() if value}
    expected = {
        "profile", "sessions", "securityEvents", "twoFactor", "devices", "passkeys", "spaces", "invitations", "apiKeys",
        "vault", "missionGrants", "decryptAudit", "settings", "mail", "mailedLinks",
    }  # fmt: skip
    assert expected <= sections
    assert export["vault"]["metadata"]["kek_id"] == "env-v1"
    assert len(export["vault"]["audit"]) >= 2
    assert export["settings"]["global"] == {"theme": {"mode": "dark"}}
    text = response.content.decode()
    for name, secret in seeded.items():
        assert secret not in text, name
    assert bob.email not in text and bob.id not in text


def test_deletion_erases_everything_and_the_address_can_register_again(
    seeded: dict[str, str], alice: User, bob: User, client_for, notify: NotifyStub, django_capture_on_commit_callbacks
) -> None:
    client = client_for(alice)
    bob_before = rows_referencing(bob.id)
    assert rows_referencing(alice.id)
    with django_capture_on_commit_callbacks(execute=True):
        # Alice co-owns nothing with others: her team space goes with her.
        response = client.delete(f"{ME}/data", {"password": PASSWORD}, format="json")
    assert response.json() == {"success": True}
    assert rows_referencing(alice.id) == {}
    assert not User.objects.filter(pk=alice.pk).exists()
    assert rows_referencing(bob.id) == bob_before
    assert [d.body["subject"] for d in notify.to("alice@example.com")] == ["Dein Mana-Konto wurde gelöscht"]
    again = APIClient().post("/api/v1/auth/register", {"email": "alice@example.com", "password": "another good passphrase"}, format="json")
    assert again.status_code == 201
    assert SecurityEvent.objects.filter(type="ACCOUNT_DELETED", user__isnull=True).count() == 1


def test_deletion_without_or_with_a_wrong_password_changes_nothing(alice: User, client_for) -> None:
    client = client_for(alice)
    before = rows_referencing(alice.id)
    missing = client.delete(f"{ME}/data", {}, format="json")
    assert (missing.status_code, missing.json()["error"]) == (401, "REAUTHENTICATION_REQUIRED")
    wrong = client.delete(f"{ME}/data", {"password": "not the password"}, format="json")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "INVALID_CREDENTIALS")
    assert User.objects.filter(pk=alice.pk).exists()
    after = rows_referencing(alice.id)
    after.pop("SecurityEvent.user", None)  # the failed confirmation itself is recorded
    before.pop("SecurityEvent.user", None)
    assert after == before


def test_without_a_password_a_fresh_passkey_sign_in_confirms(make_user, client_for) -> None:
    owner = make_user("keyonly@example.com")
    authenticator = SoftAuthenticator()
    client = client_for(owner)
    options = client.post("/api/v1/auth/passkeys/register/options").json()
    client.post(
        "/api/v1/auth/passkeys/register/verify",
        {"response": authenticator.create(options=options, origin="http://localhost:8000")},
        format="json",
    )
    owner.set_unusable_password()
    owner.save()
    assert client.delete(f"{ME}/data", {}, format="json").json()["error"] == "REAUTHENTICATION_REQUIRED"  # a password session

    request = APIClient().post("/api/v1/auth/passkeys/authenticate/options", {}, format="json").json()
    tokens = (
        APIClient()
        .post(
            "/api/v1/auth/passkeys/authenticate/verify",
            {"response": authenticator.get(options=request, origin="http://localhost:8000")},
            format="json",
        )
        .json()
    )
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['accessToken']}")
    Session.objects.filter(method="passkey").update(created_at=F("created_at") - timedelta(minutes=6))
    assert fresh.delete(f"{ME}/data", {}, format="json").json()["error"] == "REAUTHENTICATION_REQUIRED"  # too old
    Session.objects.filter(method="passkey").update(created_at=F("created_at") + timedelta(minutes=6))
    assert fresh.delete(f"{ME}/data", {}, format="json").json() == {"success": True}
    assert not User.objects.filter(email="keyonly@example.com").exists()


def test_the_last_owner_of_a_shared_space_is_told_which_spaces_block(alice: User, bob: User, client_for) -> None:
    client = client_for(alice)
    space = client.post("/api/v1/spaces", {"name": "Shared Studio", "type": "team"}, format="json").json()["space"]
    Membership.objects.create(space_id=space["id"], user=bob, role="member")
    refused = client.delete(f"{ME}/data", {"password": PASSWORD}, format="json")
    assert (refused.status_code, refused.json()["error"]) == (403, "FORBIDDEN")
    assert "Shared Studio" in refused.json()["message"]
    assert User.objects.filter(pk=alice.pk).exists()


@pytest.mark.parametrize(("days", "kept"), [(0, 0), (90, 1)])
def test_security_events_are_deleted_or_kept_anonymised(alice: User, client_for, settings, days: int, kept: int) -> None:
    settings.SECURITY_EVENT_RETENTION_DAYS = days
    client = client_for(alice)
    assert SecurityEvent.objects.filter(user=alice).count() == 1  # the sign-in
    client.delete(f"{ME}/data", {"password": PASSWORD}, format="json")
    assert SecurityEvent.objects.filter(user__isnull=True, type="LOGIN_SUCCESS").count() == kept
    for event in SecurityEvent.objects.all():
        assert alice.email not in json.dumps(event.metadata)
        assert event.ip_address is None or event.type not in ("LOGIN_SUCCESS",)


def test_summary(alice: User, client_for) -> None:
    summary = client_for(alice).get(f"{ME}/data").json()
    assert summary["user"]["email"] == alice.email
    assert (summary["sessions"], summary["passkeys"], summary["vault"]) == (
        1,
        0,
        {"exists": False, "zeroKnowledge": False, "recoverySet": False},
    )


def test_settings_deep_merge_and_limits(alice: User, bob: User, client_for) -> None:
    client = client_for(alice)
    defaults = client.get("/api/v1/settings").json()
    assert defaults == {
        "global": {
            "nav": {"desktopPosition": "top", "sidebarCollapsed": False},
            "theme": {"mode": "system", "colorScheme": "ocean"},
            "locale": "de",
        },
        "apps": {},
    }
    merged = client.patch("/api/v1/settings/global", {"theme": {"mode": "dark"}, "nav": {"sidebarCollapsed": True}}, format="json").json()
    assert merged["global"]["theme"] == {"mode": "dark", "colorScheme": "ocean"}  # untouched keys stay
    assert merged["global"]["nav"] == {"desktopPosition": "top", "sidebarCollapsed": True}
    assert client.patch("/api/v1/settings/global", {"theme": {"mode": None}}, format="json").json()["global"]["theme"]["mode"] == "system"

    assert client.patch("/api/v1/settings/app/notes", {"view": "grid", "sort": {"by": "date"}}, format="json").json() == {
        "view": "grid",
        "sort": {"by": "date"},
    }
    assert client.patch("/api/v1/settings/app/notes", {"sort": {"dir": "asc"}}, format="json").json() == {
        "view": "grid",
        "sort": {"by": "date", "dir": "asc"},
    }
    assert client.patch("/api/v1/settings/device/laptop-1/notes", {"zoom": 1.2}, format="json").json() == {"zoom": 1.2}
    assert client.get("/api/v1/settings/devices").json() == {"devices": {"laptop-1": {"notes": {"zoom": 1.2}}}}
    assert client_for(bob).get("/api/v1/settings/devices").json() == {"devices": {}}
    assert client.delete("/api/v1/settings/device/laptop-1").json() == {"success": True}
    assert client.delete("/api/v1/settings/device/laptop-1").status_code == 404
    assert client.delete("/api/v1/settings/app/notes").json() == {"success": True}
    assert client.get("/api/v1/settings").json()["apps"] == {}

    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(9):
        cursor["x"] = {}
        cursor = cursor["x"]
    too_deep = client.patch("/api/v1/settings/global", deep, format="json")
    assert (too_deep.status_code, too_deep.json()["error"], list(too_deep.json()["fields"])) == (400, "VALIDATION", ["global"])
    oversize = client.patch("/api/v1/settings/app/notes", {"blob": "x" * 70_000}, format="json")
    assert (oversize.status_code, list(oversize.json()["fields"])) == (400, ["notes"])
    assert client.patch("/api/v1/settings/global", ["not", "an", "object"], format="json").status_code == 400
    assert client.patch("/api/v1/settings/app/bad id!", {"a": 1}, format="json").status_code in (400, 404)
    assert client.get("/api/v1/settings").json()["global"]["theme"]["mode"] == "system"  # refused patches wrote nothing


def test_onboarding_and_profile(alice: User, client_for) -> None:
    client = client_for(alice)
    assert client.get(f"{ME}/onboarding").json() == {"completedAt": None}
    completed = client.post(f"{ME}/onboarding/complete").json()["completedAt"]
    assert completed is not None
    assert client.get(f"{ME}/onboarding").json() == {"completedAt": completed}
    assert client.patch(f"{ME}/onboarding/reset").json() == {"completedAt": None}
    updated = client.patch(f"{ME}/profile", {"name": "Alice B.", "image": "https://example.com/a.png"}, format="json").json()["user"]
    assert (updated["name"], updated["image"]) == ("Alice B.", "https://example.com/a.png")
    for body, field in (({"name": ""}, "name"), ({"name": "x" * 81}, "name"), ({"image": "http://example.com/a.png"}, "image")):
        bad = client.patch(f"{ME}/profile", body, format="json")
        assert (bad.status_code, list(bad.json()["fields"])) == (400, [field])


def test_anonymous_is_401_on_data_rights_routes() -> None:
    for response in (
        APIClient().get(f"{ME}/data"),
        APIClient().get(f"{ME}/data/export"),
        APIClient().delete(f"{ME}/data", {"password": "x"}, format="json"),
        APIClient().get("/api/v1/settings"),
        APIClient().patch("/api/v1/settings/global", {}, format="json"),
        APIClient().get(f"{ME}/onboarding"),
    ):
        assert (response.status_code, response.json()["error"]) == (401, "UNAUTHORIZED")
