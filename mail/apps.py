import logging

from django.apps import AppConfig

logger = logging.getLogger("mana_auth.config")


class MailConfig(AppConfig):
    name = "mail"

    def ready(self) -> None:
        from mail import personal_data  # noqa: F401 - register this app's personal-data hooks
        from mail.services import unconfigured_services  # also registers the outbox's rewrap hook

        for name in unconfigured_services():
            logger.info("%s is not set: the calls to that service are skipped.", name)
