from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/health", "/api/v1/auth/jwks", "/api/v1/nothing", "/login", "/api/docs/"])
def test_security_headers_on_every_response(path: str) -> None:
    response = APIClient().get(path)
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_hsts_in_production_settings(settings: Any) -> None:
    from config.settings import production

    assert production.SECURE_HSTS_SECONDS >= 31_536_000
    assert production.SECURE_HSTS_INCLUDE_SUBDOMAINS is True


def test_cors_only_for_configured_origins_with_credentials(settings: Any) -> None:
    settings.CORS_ORIGINS = ["https://app.example"]
    allowed = APIClient().get("/health", HTTP_ORIGIN="https://app.example")
    assert "Access-Control-Allow-Origin" not in allowed  # only the API speaks CORS
    api = APIClient().get("/api/v1/auth/jwks", HTTP_ORIGIN="https://app.example")
    assert api["Access-Control-Allow-Origin"] == "https://app.example"
    assert api["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in api["Vary"]
    foreign = APIClient().get("/api/v1/auth/jwks", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in foreign
    preflight = APIClient().options("/api/v1/auth/login", HTTP_ORIGIN="https://app.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    assert (
        APIClient()
        .options("/api/v1/auth/login", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
        .get("Access-Control-Allow-Origin")
        is None
    )


def test_no_store_on_everything_that_carries_a_token_or_key(alice: User, client_for: Any) -> None:
    login = APIClient().post("/api/v1/auth/login", {"email": alice.email, "password": "correct horse battery staple"}, format="json")
    assert login["Cache-Control"] == "no-store"
    client = client_for(alice)
    for response in (
        client.post("/api/v1/me/encryption-vault/init"),
        client.get("/api/v1/me/encryption-vault/key"),
        client.post("/api/v1/api-keys", {"name": "k"}, format="json"),
        client.get("/api/v1/auth/sessions"),
        client.get("/api/v1/me/data/export"),
        APIClient().post("/api/v1/auth/refresh", {"refreshToken": login.json()["refreshToken"]}, format="json"),
    ):
        assert response["Cache-Control"] == "no-store"
    assert APIClient().get("/api/v1/auth/jwks")["Cache-Control"].startswith("public")  # public keys may be cached
