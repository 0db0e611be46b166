from django.apps import AppConfig


class SpacesConfig(AppConfig):
    name = "spaces"

    def ready(self) -> None:
        from spaces import exports  # noqa: F401 - registers this app's part of the personal-data export
