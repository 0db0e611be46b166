from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "vault"

    def ready(self) -> None:
        from vault import exports  # noqa: F401 - registers this app's part of the personal-data export
