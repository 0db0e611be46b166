from django.apps import AppConfig


class PasskeysConfig(AppConfig):
    name = "passkeys"

    def ready(self) -> None:
        from passkeys import exports  # noqa: F401 - registers this app's part of the personal-data export
