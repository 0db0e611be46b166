from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "mail"

    def ready(self) -> None:
        from mail import personal_data, services  # noqa: F401 - register this app's personal-data and rewrap hooks
