from typing import Any

from accounts.models import User
from core.personal_data import exporter
from personas.models import Persona, PersonaAction, PersonaFeedback


@exporter("persona", Persona, PersonaAction, PersonaFeedback)
def persona(user: User) -> dict[str, Any] | None:
    row = Persona.objects.filter(user=user).first()
    if row is None:
        return None
    return {
        "archetype": row.archetype,
        "systemPrompt": row.system_prompt,
        "moduleMix": row.module_mix,
        "tickCadence": row.tick_cadence,
        "lastActiveAt": row.last_active_at,
        "createdAt": row.created_at,
        "actions": list(
            row.actions.order_by("created_at", "pk").values(
                "tick_id", "position", "tool_name", "input_hash", "result", "error_message", "latency_ms", "created_at"
            )
        ),
        "feedback": list(row.feedback.order_by("created_at", "pk").values("tick_id", "module", "rating", "notes", "created_at")),
    }
