"""Schema-driven fuzzing with schemathesis against a live server on PostgreSQL: every operation,
anonymous and signed in. No 5xx, every answer conforms to the schema, every error is the
envelope. Examples are derandomised (a fixed seed), so a failure reproduces as it was printed."""

from typing import Any

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from accounts.models import User
from tests.hardening.figures import FIGURES
from tests.support import PASSWORD, sign_in

EXAMPLES_PER_OPERATION = 12
ENVELOPE_KEYS = {"error", "code", "message", "status"}

SCHEMA = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True)).include(path_regex=r"^/api/v1/")
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture
def fuzz_headers(make_user: Any, settings: Any) -> dict[str, str]:
    settings.MANA_SERVICE_KEY = "fuzz-service-key"
    user: User = make_user("fuzz@example.com", role="admin")
    return {"Authorization": f"Bearer {sign_in(APIClient(), user.email, PASSWORD)['accessToken']}", "X-Service-Key": "fuzz-service-key"}


def run_case(case: Any, base_url: str, headers: dict[str, str] | None) -> None:
    response = case.call(base_url=base_url, headers=headers)
    FIGURES.record_case(case.operation.label, response.status_code)
    try:
        case.validate_response(response, checks=CHECKS)
    except Exception:
        FIGURES.schema_violations += 1
        raise
    if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        assert set(body) >= ENVELOPE_KEYS, body
        assert body["status"] == response.status_code


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@SCHEMA.parametrize()
@FUZZ_SETTINGS
def test_fuzz_anonymous(case: Any, live_server: Any) -> None:
    run_case(case, live_server.url, None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@SCHEMA.parametrize()
@FUZZ_SETTINGS
def test_fuzz_signed_in(case: Any, live_server: Any, fuzz_headers: dict[str, str]) -> None:
    run_case(case, live_server.url, fuzz_headers)
