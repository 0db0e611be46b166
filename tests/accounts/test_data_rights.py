import json
from collections.abc import Iterator
from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.db.models import F
from rest_framework.test import APIClient

from accounts.models import Session, User, UserSettings
from core.models import SecurityEvent
from core.personal_data import covered_models
from core.rls import acting_as
from mail.models import ServiceCall
from spaces.models import Membership
from tests.mail.services_stub import ServiceStub
from tests.notify import NotifyStub
from tests.passkeys.authenticator import SoftAuthenticator
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
CREDITS_BALANCE = "/api/v1/internal/credits/balance/{}"


@pytest.fixture
def credits_service(settings: Any) -> Iterator[ServiceStub]:
    """The credits service, running for real on loopback."""
    stub = ServiceStub()
    stub.start()
    settings.MANA_CREDITS_URL = stub.url
    settings.MANA_SERVICE_KEY = "credits-test-service-key"
    yield stub
    stub.stop()


def age_sessions(user: User, minutes: int) -> None:
    Session.objects.filter(user=user).update(created_at=F("created_at") - timedelta(minutes=minutes))


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
    sessions = Session.objects.filter(user=alice).count()
    with django_capture_on_commit_callbacks(execute=True):
        # Alice co-owns nothing with others: her team space goes with her.
        response = client.delete(f"{ME}/data", {"password": PASSWORD}, format="json")
    assert response.json() == {
        "success": True,
        "deletedFromProjects": [],
        "deletedFromAuth": {"sessions": sessions, "accounts": 1, "credits": 0, "user": True},
        "totalDeleted": sessions + 2,
    }
    assert rows_referencing(alice.id) == {}
    assert not User.objects.filter(pk=alice.pk).exists()
    assert rows_referencing(bob.id) == bob_before
    assert [d.body["subject"] for d in notify.to("alice@example.com")] == ["Dein Mana-Konto wurde gelöscht"]
    again = APIClient().post("/api/v1/auth/register", {"email": "alice@example.com", "password": "another good passphrase"}, format="json")
    assert again.status_code == 201
    assert SecurityEvent.objects.filter(type="ACCOUNT_DELETED", user__isnull=True).count() == 1


def test_deletion_after_an_old_sign_in_or_with_a_wrong_password_changes_nothing(alice: User, client_for) -> None:
    client = client_for(alice)
    age_sessions(alice, 16)
    before = rows_referencing(alice.id)
    missing = client.delete(f"{ME}/data")
    assert (missing.status_code, missing.json()["error"]) == (401, "REAUTHENTICATION_REQUIRED")
    wrong = client.delete(f"{ME}/data", {"password": "not the password"}, format="json")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "INVALID_CREDENTIALS")
    assert User.objects.filter(pk=alice.pk).exists()
    after = rows_referencing(alice.id)
    after.pop("SecurityEvent.user", None)  # the failed confirmation itself is recorded
    before.pop("SecurityEvent.user", None)
    assert after == before


def test_without_a_password_a_sign_in_of_the_last_15_minutes_confirms(make_user, client_for) -> None:
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
    age_sessions(owner, 16)
    assert client.delete(f"{ME}/data", {}, format="json").json()["error"] == "REAUTHENTICATION_REQUIRED"  # signed in too long ago

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
    Session.objects.filter(method="passkey").update(created_at=F("created_at") - timedelta(minutes=16))
    assert fresh.delete(f"{ME}/data", {}, format="json").json()["error"] == "REAUTHENTICATION_REQUIRED"  # too old
    Session.objects.filter(method="passkey").update(created_at=F("created_at") + timedelta(minutes=2))
    erased = fresh.delete(f"{ME}/data", {}, format="json").json()  # 14 minutes old: fresh enough
    assert (erased["success"], erased["deletedFromAuth"]["accounts"], erased["deletedFromAuth"]["user"]) == (True, 0, True)
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
    session = Session.objects.get(user=alice)
    assert summary == {
        "user": {
            "id": alice.id,
            "email": alice.email,
            "name": "Alice",
            "role": "user",
            "emailVerified": True,
            "createdAt": summary["user"]["createdAt"],
        },
        "auth": {
            "sessionsCount": 1,
            "accountsCount": 1,
            "has2FA": False,
            "lastLoginAt": summary["auth"]["lastLoginAt"],
            "feedbackShowRealName": False,
            "feedbackKarma": 0,
        },
        "credits": {"balance": 0, "totalEarned": 0, "totalSpent": 0, "transactionsCount": 0},  # credits is not configured
        "projects": [
            {
                "projectId": "mana-auth",
                "projectName": "Mana account",
                "icon": "key",
                "available": True,
                "entities": summary["projects"][0]["entities"],
                "totalCount": 2,
            }
        ],
        "totals": {"totalEntities": 2, "projectsWithData": 1},
    }
    # This service's own records, each app counting its part: one session and its sign-in event.
    counted = {entity["entity"]: (entity["count"], entity["label"]) for entity in summary["projects"][0]["entities"]}
    assert counted == {
        "sessions": (1, "Sessions"),
        "securityEvents": (1, "Security events"),
        "passkeys": (0, "Passkeys"),
        "spaces": (0, "Spaces"),
        "apiKeys": (0, "Api keys"),
        "vault": (0, "Vault"),
        "grants": (0, "Grants"),
    }
    assert summary["auth"]["lastLoginAt"] is not None
    assert summary["auth"]["lastLoginAt"][:19] == session.created_at.isoformat()[:19]


def test_settings_deep_merge_and_limits(alice: User, bob: User, client_for) -> None:
    client = client_for(alice)
    defaults = client.get("/api/v1/settings").json()
    assert defaults == {
        "success": True,
        "globalSettings": {
            "nav": {"desktopPosition": "top", "sidebarCollapsed": False},
            "theme": {"mode": "system", "colorScheme": "ocean"},
            "locale": "de",
        },
        "appOverrides": {},
        "deviceSettings": {},
    }
    merged = client.patch("/api/v1/settings/global", {"theme": {"mode": "dark"}, "nav": {"sidebarCollapsed": True}}, format="json").json()
    assert merged["globalSettings"]["theme"] == {"mode": "dark", "colorScheme": "ocean"}  # untouched keys stay
    assert merged["globalSettings"]["nav"] == {"desktopPosition": "top", "sidebarCollapsed": True}
    reset = client.patch("/api/v1/settings/global", {"theme": {"mode": None}}, format="json").json()
    assert reset["globalSettings"]["theme"]["mode"] == "system"

    first = client.patch("/api/v1/settings/app/notes", {"view": "grid", "sort": {"by": "date"}}, format="json").json()
    assert first["appOverrides"] == {"notes": {"view": "grid", "sort": {"by": "date"}}}
    second = client.patch("/api/v1/settings/app/notes", {"sort": {"dir": "asc"}}, format="json").json()
    assert second["appOverrides"] == {"notes": {"view": "grid", "sort": {"by": "date", "dir": "asc"}}}
    device = client.patch("/api/v1/settings/device/laptop-1/notes", {"settings": {"zoom": 1.2}}, format="json").json()
    assert device["deviceSettings"]["laptop-1"]["apps"] == {"notes": {"zoom": 1.2}}
    devices = client.get("/api/v1/settings/devices").json()
    assert [(d["deviceId"], d["appCount"]) for d in devices["devices"]] == [("laptop-1", 1)]
    assert client_for(bob).get("/api/v1/settings/devices").json() == {"success": True, "devices": []}
    assert client.delete("/api/v1/settings/device/laptop-1").json()["deviceSettings"] == {}
    assert client.delete("/api/v1/settings/device/laptop-1").status_code == 404
    assert client.delete("/api/v1/settings/app/notes").json()["appOverrides"] == {}
    assert client.get("/api/v1/settings").json()["appOverrides"] == {}

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
    assert client.get("/api/v1/settings").json()["globalSettings"]["theme"]["mode"] == "system"  # refused patches wrote nothing


def test_onboarding_and_profile(alice: User, client_for) -> None:
    client = client_for(alice)
    assert client.get(f"{ME}/onboarding").json() == {"completedAt": None}
    completed = client.post(f"{ME}/onboarding/complete").json()["completedAt"]
    assert completed is not None
    assert client.get(f"{ME}/onboarding").json() == {"completedAt": completed}
    assert client.patch(f"{ME}/onboarding/reset").json() == {"completedAt": None}
    updated = client.patch(f"{ME}/profile", {"name": "Alice B.", "image": "https://example.com/a.png"}, format="json").json()
    assert updated == {"name": "Alice B.", "image": "https://example.com/a.png", "feedbackShowRealName": False}
    for body, field in (({"name": ""}, "name"), ({"name": "x" * 81}, "name"), ({"image": "http://example.com/a.png"}, "image")):
        bad = client.patch(f"{ME}/profile", body, format="json")
        assert (bad.status_code, bad.json()["error"], list(bad.json()["fields"])) == (400, "VALIDATION", [field])


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


# --- the platform's callers (PLATFORM.md §5) ------------------------------------------------------
def test_web_privacy_page_reads_the_summary_with_credits_from_the_credits_service(
    alice: User, client_for, credits_service: ServiceStub
) -> None:
    figures = {"balance": 120, "totalEarned": 200, "totalSpent": 80, "transactionsCount": 7}
    credits_service.answer("GET", CREDITS_BALANCE.format(alice.id), figures)
    summary = client_for(alice).get(f"{ME}/data").json()
    assert summary["credits"] == figures
    assert credits_service.requests("GET", CREDITS_BALANCE.format(alice.id))[0].headers["x-service-key"] == "credits-test-service-key"
    credits_service.stop()  # down: zeros, and the summary still answers
    zeros = {"balance": 0, "totalEarned": 0, "totalSpent": 0, "transactionsCount": 0}
    assert client_for(alice).get(f"{ME}/data").json()["credits"] == zeros


def test_web_privacy_page_erases_without_a_body_and_credits_erases_its_part(alice: User, client_for, credits_service: ServiceStub) -> None:
    credits_service.answer("DELETE", CREDITS_BALANCE.format(alice.id), {"deletedCount": 4})
    client = client_for(alice)
    response = client.delete(f"{ME}/data")  # the web app sends no body and no password
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "deletedFromProjects": [],
        "deletedFromAuth": {"sessions": 1, "accounts": 1, "credits": 4, "user": True},
        "totalDeleted": 7,
    }
    assert not User.objects.filter(pk=alice.pk).exists()
    assert len(credits_service.requests("DELETE", CREDITS_BALANCE.format(alice.id))) == 1


def test_web_privacy_page_sees_a_failed_credits_erasure_which_is_queued_again(
    alice: User, client_for, credits_service: ServiceStub, django_capture_on_commit_callbacks
) -> None:
    credits_service.status = 503
    with django_capture_on_commit_callbacks(execute=False):
        answer = client_for(alice).delete(f"{ME}/data").json()
    assert answer["success"] is True and answer["deletedFromAuth"]["credits"] == 0
    assert [(p["projectId"], p["success"]) for p in answer["deletedFromProjects"]] == [("credits", False)]
    retry = ServiceCall.objects.get()
    assert (retry.method, retry.path, retry.user_id) == ("DELETE", CREDITS_BALANCE.format(alice.id), None)
    assert not User.objects.filter(pk=alice.pk).exists()


def test_a_refused_erasure_leaves_the_credits_untouched(alice: User, bob: User, client_for, credits_service: ServiceStub) -> None:
    client = client_for(alice)
    space = client.post("/api/v1/spaces", {"name": "Shared Studio", "type": "team"}, format="json").json()["space"]
    Membership.objects.create(space_id=space["id"], user=bob, role="member")
    assert client.delete(f"{ME}/data").status_code == 403
    assert credits_service.requests("DELETE", CREDITS_BALANCE.format(alice.id)) == []


def test_web_profile_settings_read_and_set_name_image_and_feedback_name(alice: User, client_for) -> None:
    client = client_for(alice)
    assert client.get(f"{ME}/profile").json() == {"name": "Alice", "image": "", "feedbackShowRealName": False}
    shown = client.patch(f"{ME}/profile", {"feedbackShowRealName": True}, format="json").json()
    assert shown == {"name": "Alice", "image": "", "feedbackShowRealName": True}
    assert User.objects.get(pk=alice.pk).feedback_show_real_name is True
    assert client.get(f"{ME}/data").json()["auth"]["feedbackShowRealName"] is True
    bad = client.patch(f"{ME}/profile", {"feedbackShowRealName": "perhaps"}, format="json")
    assert (bad.status_code, bad.json()["error"]) == (400, "VALIDATION")


def test_web_settings_store_reads_global_settings_app_overrides_and_device_settings(alice: User, client_for) -> None:
    client = client_for(alice)
    client.patch("/api/v1/settings/global", {"theme": {"colorScheme": "forest"}}, format="json")
    client.patch("/api/v1/settings/app/calendar", {"weekStart": "monday"}, format="json")
    written = client.patch(
        "/api/v1/settings/device/phone-7/calendar",
        {"deviceName": "Alice's phone", "deviceType": "mobile", "settings": {"view": "day"}},
        format="json",
    ).json()
    assert set(written) == {"success", "globalSettings", "appOverrides", "deviceSettings"}
    assert written["globalSettings"]["theme"] == {"mode": "system", "colorScheme": "forest"}
    assert written["appOverrides"] == {"calendar": {"weekStart": "monday"}}
    phone = written["deviceSettings"]["phone-7"]
    assert (phone["deviceName"], phone["deviceType"], phone["apps"]) == ("Alice's phone", "mobile", {"calendar": {"view": "day"}})
    assert phone["lastSeen"] is not None
    # A later write without name or type keeps them and merges into the app's document.
    again = client.patch("/api/v1/settings/device/phone-7/calendar", {"settings": {"zoom": 2}}, format="json").json()
    assert again["deviceSettings"]["phone-7"]["deviceName"] == "Alice's phone"
    assert again["deviceSettings"]["phone-7"]["apps"] == {"calendar": {"view": "day", "zoom": 2}}
    assert client.get("/api/v1/settings").json() == again
    last_seen = again["deviceSettings"]["phone-7"]["lastSeen"]
    assert client.get("/api/v1/settings/devices").json() == {
        "success": True,
        "devices": [{"deviceId": "phone-7", "deviceName": "Alice's phone", "deviceType": "mobile", "lastSeen": last_seen, "appCount": 1}],
    }
    deleted = client.delete("/api/v1/settings/app/calendar").json()
    assert (deleted["success"], deleted["appOverrides"], list(deleted["deviceSettings"])) == (True, {}, ["phone-7"])
    bad = client.patch("/api/v1/settings/device/phone-7/calendar", {"settings": ["not", "an", "object"]}, format="json")
    assert (bad.status_code, bad.json()["error"]) == (400, "VALIDATION")


def test_stored_device_settings_of_the_old_shape_are_moved_under_apps() -> None:
    migration = import_module("accounts.migrations.0006_user_feedback_show_real_name")
    owner = User.objects.create_user("old@example.com", "a good long passphrase")
    UserSettings.objects.create(user=owner, device_settings={"laptop": {"notes": {"zoom": 1.5}}})
    UserSettings.objects.create(user=User.objects.create_user("empty@example.com"), device_settings={})
    migration.device_documents_with_apps(apps, None)
    assert UserSettings.objects.get(user=owner).device_settings == {
        "laptop": {"deviceName": "", "deviceType": "", "lastSeen": None, "apps": {"notes": {"zoom": 1.5}}}
    }
