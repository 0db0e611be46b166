from django.apps import AppConfig


class GrantsConfig(AppConfig):
    name = "grants"

    def ready(self) -> None:
        from grants import checks, exports  # noqa: F401 - register the AI key check and this app's export
