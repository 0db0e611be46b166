from django.apps import AppConfig


class PersonasConfig(AppConfig):
    name = "personas"

    def ready(self) -> None:
        from personas import personal_data  # noqa: F401 - registers this app's personal-data hooks
