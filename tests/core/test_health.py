from datetime import datetime

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_health_answers_without_io(api: APIClient, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["service"] == "mana-auth"
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None


def test_ready_when_database_and_cache_answer(api: APIClient) -> None:
    assert api.get("/health/ready").status_code == 200
    assert api.get("/health/ready/").status_code == 200


def test_not_ready_when_the_cache_is_down(api: APIClient, settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    response = api.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["error"] == "SERVICE_UNAVAILABLE"
