import os


def default_settings_module() -> str:
    """The settings module for manage.py, WSGI and ASGI, chosen by DJANGO_ENV."""
    if os.environ.get("DJANGO_ENV", "development") == "production":
        return "config.settings.production"
    return "config.settings.base"
