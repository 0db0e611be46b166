from typing import Any

from django.apps import AppConfig


class OidcConfig(AppConfig):
    """ "Sign in with Mana": the OpenID Connect provider. Besides its own hooks it offers accounts two
    methods, found through the app registry so accounts never imports it: the RS256 keys for the
    JWKS (`published_jwks`) and their rotation with the EdDSA keys (`signing_keys_rotate`)."""

    name = "oidc"
    verbose_name = "Sign in with Mana"

    def ready(self) -> None:
        from oidc import keys, personal_data  # noqa: F401 - register the keys' rewrapper and this app's personal-data hooks

    def published_jwks(self) -> list[dict[str, Any]]:
        from oidc.keys import published_jwks

        return published_jwks()

    def signing_keys_rotate(self) -> str:
        from oidc.keys import publish_after_retirement, signing_key_rotate

        key = signing_key_rotate()
        if key is None:
            return "No OpenID Connect signing key yet: the first is made with the first client."
        minutes = int(publish_after_retirement().total_seconds() // 60)
        return f"New OpenID Connect signing key {key.kid} (RS256) is active; the previous key stays published for {minutes} minutes."
