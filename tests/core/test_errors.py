import pytest
from rest_framework.test import APIClient

from core.errors import ErrorCode

pytestmark = pytest.mark.urls("tests.core.urls")

LEAK_MARKERS = ("Traceback", "SELECT", "column", "hunter2", "password authentication", "/srv/", "RuntimeError", "10.0.0.9")


def assert_envelope(response, code: ErrorCode) -> dict:
    body = response.json()
    assert response.status_code == code.status
    assert body["error"] == code.name
    assert body["status"] == code.status
    assert isinstance(body["message"], str) and body["message"]
    assert body["code"] == body["error"]  # the platform's vault and grant clients read `code`
    assert set(body) <= {"error", "code", "message", "status", "fields", "retryAfterSec"}
    for marker in LEAK_MARKERS:
        assert marker not in response.content.decode()
    return body


def test_unknown_api_path_is_a_404_envelope(api: APIClient) -> None:
    assert_envelope(api.get("/api/v1/nothing-here"), ErrorCode.NOT_FOUND)
    assert_envelope(api.post("/api/nope/deeper", {}, format="json"), ErrorCode.NOT_FOUND)


def test_unknown_path_outside_the_api_is_html(api: APIClient) -> None:
    response = api.get("/definitely-not-a-page")
    assert response.status_code == 404
    assert "application/json" not in response["Content-Type"]


def test_wrong_method_is_a_405_envelope(api: APIClient) -> None:
    assert_envelope(api.delete("/health"), ErrorCode.METHOD_NOT_ALLOWED)
    assert_envelope(api.get("/api/test/echo"), ErrorCode.METHOD_NOT_ALLOWED)


def test_malformed_json_is_validation(api: APIClient) -> None:
    response = api.generic("POST", "/api/test/echo", '{"email": "a@b.c",', content_type="application/json")
    assert_envelope(response, ErrorCode.VALIDATION)


def test_non_json_body_is_415_envelope(api: APIClient) -> None:
    response = api.generic("POST", "/api/test/echo", "email=a@b.c", content_type="application/x-www-form-urlencoded")
    assert_envelope(response, ErrorCode.UNSUPPORTED_MEDIA_TYPE)


def test_invalid_fields_are_listed(api: APIClient) -> None:
    body = assert_envelope(api.post("/api/test/echo", {"email": "not-an-address"}, format="json"), ErrorCode.VALIDATION)
    assert list(body["fields"]) == ["email"]


def test_valid_request_passes(api: APIClient) -> None:
    response = api.post("/api/test/echo/", {"email": "a@example.com"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"email": "a@example.com"}


def test_schema_drift_is_service_unavailable(api: APIClient) -> None:
    assert_envelope(api.get("/api/test/drift"), ErrorCode.SERVICE_UNAVAILABLE)


def test_database_down_is_service_unavailable(api: APIClient) -> None:
    assert_envelope(api.get("/api/test/db-down"), ErrorCode.SERVICE_UNAVAILABLE)


def test_unexpected_exception_is_internal_without_details(api: APIClient) -> None:
    response = api.post("/api/test/crash", {"password": "hunter2"}, format="json")
    assert_envelope(response, ErrorCode.INTERNAL)


def test_request_data_too_big_is_413_envelope(api: APIClient, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = api.post("/api/test/echo", {"email": "a@example.com", "padding": "x" * 500}, format="json")
    assert_envelope(response, ErrorCode.PAYLOAD_TOO_LARGE)


def test_service_key_routes(api: APIClient, settings) -> None:
    settings.MANA_SERVICE_KEY = "the-right-key"
    assert_envelope(api.get("/api/v1/internal/test"), ErrorCode.UNAUTHORIZED)
    assert api.get("/api/v1/internal/test").headers["WWW-Authenticate"]
    assert_envelope(api.get("/api/v1/internal/test", HTTP_X_SERVICE_KEY="the-wrong-key"), ErrorCode.UNAUTHORIZED)
    assert api.get("/api/v1/internal/test", HTTP_X_SERVICE_KEY="the-right-key").json() == {"ok": True}


def test_every_code_has_a_distinct_name_and_error_status() -> None:
    assert len(ErrorCode.__members__) == len(ErrorCode)  # an alias (a repeated value) is in __members__ but not iterated
    assert all(400 <= code.status <= 599 for code in ErrorCode)
    lockout_codes = {code.name for code in ErrorCode if code.counts_toward_lockout}
    assert lockout_codes == {"INVALID_CREDENTIALS", "TWO_FACTOR_FAILED"}
