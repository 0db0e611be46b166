"""Start-up refusal of a misconfigured process (DESIGN.md rule 8).

Registered as a system check (runserver, migrate, `check`), and run again by the WSGI/ASGI entry
points because gunicorn runs no system checks.
"""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register, run_checks
from django.core.exceptions import ImproperlyConfigured

from core.keyring import parse_kek, parse_retired_keks

# Apps register their own configuration checks under this tag; the WSGI/ASGI refusal runs them all.
CONFIG_TAG = "mana-config"


@register(CONFIG_TAG)
def configuration_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if settings.IS_PRODUCTION:
        errors.extend(
            Error(f"{name} is not set; production refuses to start without it.", id="mana.E001")
            for name in settings.MANA_MISSING_PRODUCTION_VARIABLES
        )
        if "MANA_SERVICE_KEY" not in settings.MANA_MISSING_PRODUCTION_VARIABLES and settings.MANA_SERVICE_KEY == settings.DEV_SERVICE_KEY:
            errors.append(Error("MANA_SERVICE_KEY still has its development value; set a random key.", id="mana.E002"))
        if "DJANGO_SECRET_KEY" not in settings.MANA_MISSING_PRODUCTION_VARIABLES and settings.SECRET_KEY == settings.DEV_SECRET_KEY:
            errors.append(Error("DJANGO_SECRET_KEY still has its development value; set a random key.", id="mana.E002"))
    for name, check in (
        ("MANA_AUTH_KEK", lambda: parse_kek("MANA_AUTH_KEK", settings.MANA_AUTH_KEK)),
        ("MANA_AUTH_OLD_KEKS", lambda: parse_retired_keks(settings.MANA_AUTH_OLD_KEKS)),
    ):
        try:
            check()
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id="mana.E003", obj=name))
    return errors


def refuse_to_start_if_misconfigured() -> None:
    errors = [message for message in run_checks(tags=[CONFIG_TAG]) if message.is_serious()]
    if errors:
        raise ImproperlyConfigured(" ".join(error.msg for error in errors))
