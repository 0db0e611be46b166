from django.apps import AppConfig


class PasskeysConfig(AppConfig):
    name = "passkeys"

    def ready(self) -> None:
        from passkeys import personal_data  # noqa: F401 - registers this app's personal-data hooks
