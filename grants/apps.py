from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "grants"

    def ready(self) -> None:
        from grants import checks  # noqa: F401 - registers the AI key check
