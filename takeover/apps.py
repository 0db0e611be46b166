from django.apps import AppConfig


class TakeoverConfig(AppConfig):
    """Moves the old identity service's users and data in (`manage.py import_ts_service`)."""

    name = "takeover"
