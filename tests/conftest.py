"""Shared fixtures. The cast (DESIGN.md §Tests): alice owns, bob is a member of alice's space,
charlie is a stranger."""

import os
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_runtest_setup(item: pytest.Item) -> None:
    """PostgreSQL-only and Redis-only tests skip with a reason on a developer's SQLite run, and
    fail instead of skipping in CI, where both services must be there."""
    needs = {
        "postgres": (connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://…)"),
        "redis": (bool(os.environ.get("REDIS_URL")), "Redis (REDIS_URL=redis://…)"),
    }
    for marker, (available, what) in needs.items():
        if item.get_closest_marker(marker) and not available:
            if IN_CI:
                pytest.fail(f"needs {what}, which CI must provide", pytrace=False)
            pytest.skip(f"needs {what}; runs in CI")


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()
