from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from core.checks import CONFIG_TAG
from grants.crypto import load_public_key


@register(CONFIG_TAG)
def ai_public_key_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A configured AI key must be usable: refusing at start-up beats failing every grant."""
    if not settings.MANA_AI_PUBLIC_KEY_PEM:
        return []
    try:
        load_public_key(settings.MANA_AI_PUBLIC_KEY_PEM)
    except ValueError as exc:
        return [Error(str(exc), id="mana.E004", obj="MANA_AI_PUBLIC_KEY_PEM")]
    return []
