import logging

import pytest
from rest_framework.test import APIClient

from core.logging import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.urls("tests.core.urls")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_request_id_is_taken_echoed_and_logged(api: APIClient) -> None:
    handler = Collect()
    logging.getLogger("tests.views").addHandler(handler)
    try:
        response = api.post("/api/test/echo", {"email": "a@example.com"}, format="json", HTTP_X_REQUEST_ID="abc-123")
    finally:
        logging.getLogger("tests.views").removeHandler(handler)
    assert response["X-Request-Id"] == "abc-123"
    assert [record.request_id for record in handler.records] == ["abc-123"]  # type: ignore[attr-defined]
    assert '"requestId": "abc-123"' in JsonFormatter().format(handler.records[0])


def test_request_id_is_generated_when_missing_or_unsafe(api: APIClient) -> None:
    generated = api.get("/health")["X-Request-Id"]
    assert len(generated) == 32
    forged = api.get("/health", HTTP_X_REQUEST_ID="evil\nINFO fake log line")["X-Request-Id"]
    assert "\n" not in forged and forged != generated


def test_error_responses_carry_the_request_id(api: APIClient) -> None:
    response = api.get("/api/v1/missing", HTTP_X_REQUEST_ID="rid-404")
    assert response.status_code == 404
    assert response["X-Request-Id"] == "rid-404"
