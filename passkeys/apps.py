from django.apps import AppConfig


class PasskeysConfig(AppConfig):
    name = "passkeys"

    def ready(self) -> None:
        from passkeys import personal_data, services  # noqa: F401 - register the personal-data hooks and the sessions-ended hook
