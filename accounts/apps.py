from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts import exports  # noqa: F401 - registers this app's part of the personal-data export
