from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "grants"

    def ready(self) -> None:
        from grants import checks, personal_data  # noqa: F401 - register the AI key check and this app's personal-data hooks
