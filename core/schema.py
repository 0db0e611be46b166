from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


def drop_trailing_slash_twins(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    """Every route also answers with a trailing slash (core.urls.route); document it once."""
    paths = {path for path, *_ in endpoints}
    return [endpoint for endpoint in endpoints if not (endpoint[0].endswith("/") and endpoint[0][:-1] in paths)]


class ServiceKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "core.auth.ServiceKeyAuthentication"
    name = "serviceKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-Service-Key"}


class BearerScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "accounts.authentication.BearerAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class SessionCookieScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "accounts.authentication.CookieAuthentication"
    name = "sessionCookie"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        # The name over https is __Secure-mana.session_token (accounts.session_cookie).
        return {"type": "apiKey", "in": "cookie", "name": "mana.session_token"}


class BearerOrSessionCookieScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Either of the two schemes above; it defines no component of its own."""

    target_class = "accounts.authentication.CookieOrBearerAuthentication"
    name: list[str] = []

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        return [{"bearer": []}, {"sessionCookie": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return []
