from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Register this app's personal-data hooks and the rewrappers of its KEK-wrapped secrets.
        from accounts import jwt, personal_data  # noqa: F401
        from accounts.services import two_factor  # noqa: F401
