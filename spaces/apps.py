from django.apps import AppConfig


class SpacesConfig(AppConfig):
    name = "spaces"

    def ready(self) -> None:
        from spaces import personal_data  # noqa: F401 - registers this app's personal-data hooks
