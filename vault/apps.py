from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "vault"

    def ready(self) -> None:
        from vault import personal_data, services  # noqa: F401 - register the personal-data hooks and the vault rewrapper
