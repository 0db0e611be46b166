from django.apps import AppConfig


class SpacesConfig(AppConfig):
    name = "spaces"

    def ready(self) -> None:
        from spaces import personal_data, services_api_keys  # noqa: F401 - register the personal-data hooks and the sessions-ended hook
