import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("mana_auth.config")


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import checks, schema  # noqa: F401 - register the configuration check and the OpenAPI auth schemes

        if not settings.IS_PRODUCTION:
            for name in settings.MANA_INSECURE_DEFAULTS:
                logger.warning("INSECURE DEFAULT: %s is not set; using the development default. Never run like this in production.", name)
