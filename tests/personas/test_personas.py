"""The persona routes as their callers send them (PLATFORM.md §6, §7): the operator's admin area
(Bearer, role admin) and the persona runner (X-Service-Key)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Kind, User
from accounts.selectors import data_export
from core import clock
from core.models import SecurityEvent
from personas.models import Persona, PersonaAction, PersonaFeedback
from spaces.models import Space
from tests.support import PASSWORD, assert_error, assert_validation, sign_in

pytestmark = pytest.mark.django_db

ADMIN = "/api/v1/admin/personas"
INTERNAL = "/api/v1/internal/personas"
SERVICE_KEY = "persona-runner-test-key"
WEDNESDAY_NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SATURDAY_NOON = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
PERSONA_PASSWORD = "a persona's sturdy passphrase 9"


def persona_body(email: str, **changes: Any) -> dict[str, Any]:
    body = {
        "email": email,
        "name": "Nora Notes",
        "password": PERSONA_PASSWORD,
        "archetype": "busy-parent",
        "systemPrompt": "You are Nora, a parent of three who plans everything in notes.",
        "moduleMix": {"notes": 0.6, "calendar": 0.4},
    }
    return body | changes


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
        self.now = now
        monkeypatch.setattr(clock, "timestamp", lambda: self.now.timestamp())


@pytest.fixture
def moment(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch, WEDNESDAY_NOON)


@pytest.fixture
def operator(make_user: Callable[..., User], client_for) -> APIClient:
    client: APIClient = client_for(make_user("ops@example.com", name="Ops", role="admin"))
    return client


@pytest.fixture
def runner(settings: Any) -> APIClient:
    settings.MANA_SERVICE_KEY = SERVICE_KEY
    client = APIClient()
    client.credentials(HTTP_X_SERVICE_KEY=SERVICE_KEY)
    return client


def create(operator: APIClient, email: str, **changes: Any) -> str:
    response = operator.post(ADMIN, persona_body(email, **changes), format="json")
    assert response.status_code == 200, response.content
    return str(response.json()["userId"])


def idle(user_id: str, since: datetime | None) -> None:
    Persona.objects.filter(user_id=user_id).update(last_active_at=since)


def action(tick: str, tool: str, **extra: Any) -> dict[str, Any]:
    return {"tickId": tick, "toolName": tool, "result": "ok"} | extra


# --- the operator: POST, GET, DELETE /api/v1/admin/personas --------------------------------------
def test_operator_creates_a_verified_persona_that_signs_in_with_its_password(operator: APIClient) -> None:
    response = operator.post(ADMIN, persona_body("Nora@Example.com", tickCadence="hourly"), format="json")

    assert response.status_code == 200
    body = response.json()
    assert body == {"ok": True, "userId": body["userId"], "email": "nora@example.com"}
    user = User.objects.get(pk=body["userId"])
    assert (user.kind, user.email_verified, user.name) == (Kind.PERSONA, True, "Nora Notes")
    persona = Persona.objects.get(user=user)
    assert (persona.archetype, persona.tick_cadence, persona.module_mix) == ("busy-parent", "hourly", {"notes": 0.6, "calendar": 0.4})
    assert persona.system_prompt.startswith("You are Nora")
    assert persona.last_active_at is None
    assert Space.objects.filter(personal_owner=user).count() == 1  # like every registered user
    assert sign_in(APIClient(), "nora@example.com", PERSONA_PASSWORD)["user"]["id"] == user.id
    assert SecurityEvent.objects.filter(type="ADMIN_ACTION", user=user, metadata__action="upsert_persona").exists()


def test_operator_upsert_keeps_the_user_of_that_address(operator: APIClient, charlie: User) -> None:
    first = create(operator, "Charlie@example.com", tickCadence="weekdays")
    second = operator.post(ADMIN, persona_body("charlie@example.com", archetype="night-owl", moduleMix={"chat": 1}), format="json")

    assert first == second.json()["userId"] == charlie.id
    user = User.objects.get(pk=charlie.pk)
    assert user.kind == Kind.PERSONA
    assert user.email_verified
    assert user.check_password(PERSONA_PASSWORD)
    assert not user.check_password(PASSWORD)
    persona = Persona.objects.get(user=user)
    # The cadence was left out the second time: it stays as it was.
    assert (persona.archetype, persona.module_mix, persona.tick_cadence) == ("night-owl", {"chat": 1}, "weekdays")
    assert Persona.objects.count() == 1
    assert Space.objects.filter(personal_owner=user).count() == 0  # a kept user is not registered again


def test_operator_create_lists_every_missing_field(operator: APIClient) -> None:
    response = operator.post(ADMIN, {}, format="json")

    body = assert_error(response, 400, "VALIDATION")
    assert set(body["fields"]) == {"email", "name", "password", "archetype", "systemPrompt", "moduleMix"}
    assert_validation(operator.post(ADMIN, persona_body("nora@example.com", tickCadence="monthly"), format="json"), "tickCadence")
    assert_validation(operator.post(ADMIN, persona_body("nora@example.com", moduleMix={"notes": "lots"}), format="json"), "moduleMix.notes")
    assert_error(operator.post(ADMIN, persona_body("nora@example.com", password="short"), format="json"), 400, "WEAK_PASSWORD")
    assert not User.objects.filter(email="nora@example.com").exists()


def test_operator_lists_personas(operator: APIClient, moment: Clock) -> None:
    nora = create(operator, "nora@example.com")
    otto = create(operator, "otto@example.com", archetype="retiree", tickCadence="weekdays")
    idle(otto, WEDNESDAY_NOON - timedelta(hours=3))

    response = operator.get(ADMIN)

    assert response.status_code == 200
    listed = {item["userId"]: item for item in response.json()["personas"]}
    assert set(listed) == {nora, otto}
    assert listed[otto]["email"] == "otto@example.com"
    assert (listed[otto]["archetype"], listed[otto]["tickCadence"]) == ("retiree", "weekdays")
    assert datetime.fromisoformat(listed[otto]["lastActiveAt"]) == WEDNESDAY_NOON - timedelta(hours=3)
    assert listed[nora]["lastActiveAt"] is None
    assert "password" not in str(response.json())


def test_operator_deletes_a_persona_with_its_user(operator: APIClient, runner: APIClient) -> None:
    nora = create(operator, "nora@example.com")
    runner.post(f"{INTERNAL}/{nora}/actions", {"actions": [action("t1", "notes.create")]}, format="json")

    response = operator.delete(f"{ADMIN}/{nora}")

    assert response.status_code == 200
    assert not User.objects.filter(pk=nora).exists()
    assert not Persona.objects.exists()
    assert not PersonaAction.objects.exists()
    assert not Space.objects.filter(personal_owner_id=nora).exists()
    assert_error(operator.delete(f"{ADMIN}/{nora}"), 404, "NOT_FOUND")


def test_operator_delete_of_a_user_who_is_no_persona_is_404(operator: APIClient, charlie: User) -> None:
    assert_error(operator.delete(f"{ADMIN}/{charlie.id}"), 404, "NOT_FOUND")
    assert User.objects.filter(pk=charlie.pk).exists()


def test_the_persona_routes_are_for_admins_only(alice: User, client_for, operator: APIClient) -> None:
    nora = create(operator, "nora@example.com")
    member = client_for(alice)
    for client, status, code in ((member, 403, "FORBIDDEN"), (APIClient(), 401, "UNAUTHORIZED")):
        assert_error(client.get(ADMIN), status, code)
        assert_error(client.post(ADMIN, persona_body("mallory@example.com"), format="json"), status, code)
        assert_error(client.delete(f"{ADMIN}/{nora}"), status, code)
    assert not User.objects.filter(email="mallory@example.com").exists()
    assert Persona.objects.filter(user_id=nora).exists()


# --- the persona runner: GET /due, POST /{userId}/actions, POST /{userId}/feedback ---------------
def test_persona_runner_without_the_service_key_gets_401(operator: APIClient, settings: Any) -> None:
    settings.MANA_SERVICE_KEY = SERVICE_KEY
    nora = create(operator, "nora@example.com")
    wrong = APIClient()
    wrong.credentials(HTTP_X_SERVICE_KEY="not-the-key")
    bearer_only = operator  # an admin's JWT is no service key
    for client in (APIClient(), wrong, bearer_only):
        assert_error(client.get(f"{INTERNAL}/due"), 401, "UNAUTHORIZED")
        assert_error(client.post(f"{INTERNAL}/{nora}/actions", {"actions": [action("t1", "x")]}, format="json"), 401, "UNAUTHORIZED")
        body = {"feedback": [{"tickId": "t1", "module": "notes", "rating": 4}]}
        assert_error(client.post(f"{INTERNAL}/{nora}/feedback", body, format="json"), 401, "UNAUTHORIZED")
    assert not PersonaAction.objects.exists()
    assert not PersonaFeedback.objects.exists()


def test_persona_runner_fetches_due_personas_longest_idle_first(operator: APIClient, runner: APIClient, moment: Clock) -> None:
    now = WEDNESDAY_NOON
    fresh = create(operator, "fresh@example.com")
    hourly_due = create(operator, "hourly-due@example.com", tickCadence="hourly")
    hourly_not = create(operator, "hourly-not@example.com", tickCadence="hourly")
    daily_due = create(operator, "daily-due@example.com", tickCadence="daily")
    daily_not = create(operator, "daily-not@example.com", tickCadence="daily")
    weekdays_due = create(operator, "weekdays-due@example.com", tickCadence="weekdays")
    gone = create(operator, "gone@example.com", tickCadence="hourly")
    idle(hourly_due, now - timedelta(hours=1, seconds=1))
    idle(hourly_not, now - timedelta(minutes=59))
    idle(daily_due, now - timedelta(hours=30))
    idle(daily_not, now - timedelta(hours=23))
    idle(weekdays_due, now - timedelta(days=3))
    idle(gone, now - timedelta(days=9))
    User.objects.filter(pk=gone).update(is_active=False)

    response = runner.get(f"{INTERNAL}/due")

    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body["serverTime"]) == now
    assert [item["userId"] for item in body["personas"]] == [fresh, weekdays_due, daily_due, hourly_due]
    first = body["personas"][0]
    assert first == {
        "userId": fresh,
        "email": "fresh@example.com",
        "archetype": "busy-parent",
        "systemPrompt": "You are Nora, a parent of three who plans everything in notes.",
        "moduleMix": {"notes": 0.6, "calendar": 0.4},
        "tickCadence": "daily",
        "lastActiveAt": None,
    }


def test_persona_runner_gets_no_weekday_persona_on_a_saturday(operator: APIClient, runner: APIClient, moment: Clock) -> None:
    moment.now = SATURDAY_NOON
    weekdays = create(operator, "weekdays@example.com", tickCadence="weekdays")
    daily = create(operator, "daily@example.com", tickCadence="daily")
    for user_id in (weekdays, daily):
        idle(user_id, SATURDAY_NOON - timedelta(days=2))

    due = [item["userId"] for item in runner.get(f"{INTERNAL}/due").json()["personas"]]

    assert due == [daily]


def test_persona_runner_reports_actions_once_and_a_replay_writes_nothing(operator: APIClient, runner: APIClient, moment: Clock) -> None:
    nora = create(operator, "nora@example.com")
    report = {
        "actions": [
            action("tick-1", "notes.create", inputHash="abc123", latencyMs=120),
            action("tick-1", "notes.search", result="error", errorMessage="timeout " * 1000),
            action("tick-1", "notes.create"),
        ]
    }

    first = runner.post(f"{INTERNAL}/{nora}/actions", report, format="json")
    replay = runner.post(f"{INTERNAL}/{nora}/actions", report, format="json")

    assert first.status_code == 200
    assert first.json() == {"ok": True, "written": 3}
    assert replay.json() == {"ok": True, "written": 0}
    rows = list(PersonaAction.objects.filter(persona_id=nora).order_by("position"))
    assert [(row.position, row.tool_name, row.result) for row in rows] == [
        (0, "notes.create", "ok"),
        (1, "notes.search", "error"),
        (2, "notes.create", "ok"),
    ]
    assert (rows[0].input_hash, rows[0].latency_ms, rows[2].latency_ms) == ("abc123", 120, None)
    assert rows[1].error_message.startswith("timeout") and len(rows[1].error_message) == 2000
    assert Persona.objects.get(pk=nora).last_active_at == WEDNESDAY_NOON
    assert runner.get(f"{INTERNAL}/due").json()["personas"] == []


def test_persona_runner_next_tick_writes_again_and_marks_active_again(operator: APIClient, runner: APIClient, moment: Clock) -> None:
    nora = create(operator, "nora@example.com")
    runner.post(f"{INTERNAL}/{nora}/actions", {"actions": [action("tick-1", "notes.create")]}, format="json")
    moment.now = WEDNESDAY_NOON + timedelta(days=1, minutes=1)
    assert [item["userId"] for item in runner.get(f"{INTERNAL}/due").json()["personas"]] == [nora]

    response = runner.post(f"{INTERNAL}/{nora}/actions", {"actions": [action("tick-2", "notes.create")]}, format="json")

    assert response.json() == {"ok": True, "written": 1}
    assert Persona.objects.get(pk=nora).last_active_at == moment.now
    assert PersonaAction.objects.filter(persona_id=nora).count() == 2


def test_persona_runner_action_reports_that_are_refused(operator: APIClient, runner: APIClient) -> None:
    nora = create(operator, "nora@example.com")
    url = f"{INTERNAL}/{nora}/actions"

    assert_validation(runner.post(url, {"actions": []}, format="json"), "actions")
    assert_validation(runner.post(url, {"actions": [action("t", "x")] * 501}, format="json"), "actions")
    assert_validation(runner.post(url, {}, format="json"), "actions")
    assert_validation(runner.post(url, {"actions": [action("t", "x", result="maybe")]}, format="json"), "actions.0.result")
    assert_error(runner.post(f"{INTERNAL}/no-such-user/actions", {"actions": [action("t", "x")]}, format="json"), 404, "NOT_FOUND")
    assert not PersonaAction.objects.exists()
    assert Persona.objects.get(pk=nora).last_active_at is None
    assert runner.post(url, {"actions": [action("t", "x")] * 500}, format="json").json() == {"ok": True, "written": 500}


def test_persona_runner_reports_for_a_user_who_is_no_persona_are_404(runner: APIClient, charlie: User) -> None:
    assert_error(runner.post(f"{INTERNAL}/{charlie.id}/actions", {"actions": [action("t", "x")]}, format="json"), 404, "NOT_FOUND")
    body = {"feedback": [{"tickId": "t", "module": "notes", "rating": 3}]}
    assert_error(runner.post(f"{INTERNAL}/{charlie.id}/feedback", body, format="json"), 404, "NOT_FOUND")


def test_persona_runner_reports_feedback_once_per_tick_and_module(operator: APIClient, runner: APIClient, moment: Clock) -> None:
    nora = create(operator, "nora@example.com")
    report = {
        "feedback": [
            {"tickId": "tick-1", "module": "notes", "rating": 4, "notes": "Quick to capture."},
            {"tickId": "tick-1", "module": "calendar", "rating": 2},
            {"tickId": "tick-1", "module": "notes", "rating": 1},  # the same tick and module again: the first stands
        ]
    }

    first = runner.post(f"{INTERNAL}/{nora}/feedback", report, format="json")
    replay = runner.post(f"{INTERNAL}/{nora}/feedback", report, format="json")

    assert first.status_code == 200
    assert first.json() == {"ok": True, "written": 2}
    assert replay.json() == {"ok": True, "written": 0}
    rows = {row.module: row for row in PersonaFeedback.objects.filter(persona_id=nora)}
    assert (rows["notes"].rating, rows["notes"].notes) == (4, "Quick to capture.")
    assert (rows["calendar"].rating, rows["calendar"].notes) == (2, "")
    assert Persona.objects.get(pk=nora).last_active_at == WEDNESDAY_NOON


def test_persona_runner_feedback_reports_that_are_refused(operator: APIClient, runner: APIClient) -> None:
    nora = create(operator, "nora@example.com")
    url = f"{INTERNAL}/{nora}/feedback"
    rating = {"tickId": "t", "module": "notes", "rating": 3}

    for bad in (0, 6, "great"):
        assert_validation(runner.post(url, {"feedback": [rating | {"rating": bad}]}, format="json"), "feedback.0.rating")
    many = [rating | {"module": f"m{n}"} for n in range(101)]
    assert_validation(runner.post(url, {"feedback": many}, format="json"), "feedback")
    assert_error(runner.post(f"{INTERNAL}/no-such-user/feedback", {"feedback": [rating]}, format="json"), 404, "NOT_FOUND")
    assert not PersonaFeedback.objects.exists()
    assert runner.post(url, {"feedback": many[:100]}, format="json").json() == {"ok": True, "written": 100}


def test_a_personas_export_holds_its_profile_actions_and_feedback(operator: APIClient, runner: APIClient) -> None:
    nora = create(operator, "nora@example.com")
    runner.post(f"{INTERNAL}/{nora}/actions", {"actions": [action("tick-1", "notes.create")]}, format="json")
    runner.post(f"{INTERNAL}/{nora}/feedback", {"feedback": [{"tickId": "tick-1", "module": "notes", "rating": 5}]}, format="json")

    export = data_export(user=User.objects.get(pk=nora))

    assert export["persona"]["archetype"] == "busy-parent"
    assert [row["tool_name"] for row in export["persona"]["actions"]] == ["notes.create"]
    assert [(row["module"], row["rating"]) for row in export["persona"]["feedback"]] == [("notes", 5)]
