"""Personas: the operator creates and removes them; the persona runner reports what they did.
Only those reports mark a persona active, which is what the due list is computed from."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from accounts.models import Kind, User
from accounts.services.data_rights import account_erase
from accounts.services.passwords import password_check_strength
from core import personal_data
from core.errors import ApiError, ErrorCode
from core.origin import Origin
from core.services import security_event_record
from core.text import normalise_email
from personas.models import Persona, PersonaAction, PersonaFeedback, TickCadence
from personas.selectors import server_time

ACTIONS_MAX = 500
FEEDBACK_MAX = 100
# Tool errors arrive as whole stack traces at times; the log keeps their start rather than refuse the batch.
ERROR_MESSAGE_MAX = 2000


def _admin_event(operator: User, action: str, origin: Origin, *, target_id: str, target_email: str, target: User | None) -> None:
    metadata = {
        "action": action,
        "operatorId": operator.id,
        "operatorEmail": operator.email,
        "targetId": target_id,
        "targetEmail": target_email,
    }
    security_event_record(type="ADMIN_ACTION", user_id=target.id if target else None, origin=origin, metadata=metadata)


def persona_upsert(
    *,
    operator: User,
    email: str,
    name: str,
    password: str,
    archetype: str,
    system_prompt: str,
    module_mix: dict[str, float],
    tick_cadence: str | None,
    origin: Origin,
) -> User:
    """Create the persona's user, or take over the user of that address (kept, with its id): either
    way a verified persona that signs in with this password."""
    email = normalise_email(email)
    password_check_strength(password, user=User(email=email, name=name))
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, password, name=name, kind=Kind.PERSONA, email_verified=True)
            # What other apps make for every user (the personal space), in this transaction.
            personal_data.user_created(user)
        else:
            user.name, user.kind, user.email_verified = name, Kind.PERSONA, True
            user.set_password(password)
            user.save(update_fields=["name", "kind", "email_verified", "password", "updated_at"])
        persona, created = Persona.objects.get_or_create(
            user=user,
            defaults={
                "archetype": archetype,
                "system_prompt": system_prompt,
                "module_mix": module_mix,
                "tick_cadence": tick_cadence or TickCadence.DAILY,
            },
        )
        if not created:
            persona.archetype, persona.system_prompt, persona.module_mix = archetype, system_prompt, module_mix
            persona.tick_cadence = tick_cadence or persona.tick_cadence
            persona.save(update_fields=["archetype", "system_prompt", "module_mix", "tick_cadence", "updated_at"])
        _admin_event(operator, "upsert_persona", origin, target_id=user.id, target_email=user.email, target=user)
    return user


def persona_delete(*, operator: User, user_id: str, origin: Origin) -> None:
    """The persona goes with its user, through the same erasure as any account."""
    with transaction.atomic():
        persona = Persona.objects.select_related("user").filter(user_id=user_id).first()
        if persona is None:
            raise ApiError(ErrorCode.NOT_FOUND)
        email = persona.user.email
        account_erase(user=persona.user, event_metadata={"byOperator": operator.id})
        _admin_event(operator, "delete_persona", origin, target_id=user_id, target_email=email, target=None)


def _locked_persona(user_id: str) -> Persona:
    """The row lock serialises reports for one persona, so `written` counts exactly what was new."""
    live = Persona.objects.filter(user_id=user_id, user__is_active=True, user__deleted_at__isnull=True)
    persona = live.select_for_update(of=("self",)).first()
    if persona is None:
        raise ApiError(ErrorCode.NOT_FOUND)
    return persona


def _mark_active(persona: Persona) -> None:
    Persona.objects.filter(pk=persona.pk).update(last_active_at=server_time())


def persona_actions_record(*, user_id: str, actions: Sequence[dict[str, Any]]) -> int:
    """Append the tick's actions; a replayed report (same tick, position and tool) writes nothing."""
    if not 1 <= len(actions) <= ACTIONS_MAX:
        raise ApiError(ErrorCode.VALIDATION, fields={"actions": [f"Send between 1 and {ACTIONS_MAX} actions."]})
    with transaction.atomic():
        persona = _locked_persona(user_id)
        tick_ids = {action["tickId"] for action in actions}
        seen = set(PersonaAction.objects.filter(persona=persona, tick_id__in=tick_ids).values_list("tick_id", "position", "tool_name"))
        new = [
            PersonaAction(
                persona=persona,
                tick_id=action["tickId"],
                position=position,
                tool_name=action["toolName"],
                input_hash=action.get("inputHash") or "",
                result=action["result"],
                error_message=(action.get("errorMessage") or "")[:ERROR_MESSAGE_MAX],
                latency_ms=action.get("latencyMs"),
            )
            for position, action in enumerate(actions)
            if (action["tickId"], position, action["toolName"]) not in seen
        ]
        PersonaAction.objects.bulk_create(new)
        _mark_active(persona)
    return len(new)


def persona_feedback_record(*, user_id: str, feedback: Sequence[dict[str, Any]]) -> int:
    """One rating per tick and module: the first report of it stands, a replay writes nothing."""
    if len(feedback) > FEEDBACK_MAX:
        raise ApiError(ErrorCode.VALIDATION, fields={"feedback": [f"Send at most {FEEDBACK_MAX} ratings."]})
    with transaction.atomic():
        persona = _locked_persona(user_id)
        tick_ids = {item["tickId"] for item in feedback}
        seen = set(PersonaFeedback.objects.filter(persona=persona, tick_id__in=tick_ids).values_list("tick_id", "module"))
        new: list[PersonaFeedback] = []
        for item in feedback:
            key = (item["tickId"], item["module"])
            if key not in seen:
                seen.add(key)
                new.append(
                    PersonaFeedback(persona=persona, tick_id=key[0], module=key[1], rating=item["rating"], notes=item.get("notes") or "")
                )
        PersonaFeedback.objects.bulk_create(new)
        _mark_active(persona)
    return len(new)
