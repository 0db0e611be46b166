import os
import subprocess
import sys

import pytest
from django.core.cache import cache

from core import ratelimit
from core.errors import ApiError, ErrorCode
from core.ratelimit import Limit
from core.shared_cache import Entry
from tests.support import REPO

LIMIT = Limit(scope="test", limit=3, window_seconds=60)


def test_requests_within_the_limit_pass_and_the_next_is_refused() -> None:
    decisions = [ratelimit.hit(LIMIT, "1.2.3.4", now=1000.0) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after == 20  # the window 960-1020 ends in 20 s


def test_identities_and_windows_are_separate() -> None:
    for _ in range(3):
        ratelimit.hit(LIMIT, "a", now=1000.0)
    assert ratelimit.hit(LIMIT, "b", now=1000.0).allowed
    assert ratelimit.hit(LIMIT, "a", now=1021.0).allowed


@pytest.mark.usefixtures("one_rate_window")
def test_enforce_raises_rate_limited_with_retry_after() -> None:
    for _ in range(3):
        ratelimit.enforce(LIMIT, "x")
    with pytest.raises(ApiError) as raised:
        ratelimit.enforce(LIMIT, "x")
    assert raised.value.code is ErrorCode.RATE_LIMITED
    assert raised.value.retry_after is not None and 1 <= raised.value.retry_after <= 60


def test_reset_clears_the_bucket() -> None:
    for _ in range(4):
        ratelimit.hit(LIMIT, "y", now=1000.0)
    ratelimit.reset(LIMIT, "y", now=1000.0)
    assert ratelimit.hit(LIMIT, "y", now=1000.0).count == 1


def test_cache_down_fails_open(settings, caplog) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    decisions = [ratelimit.hit(LIMIT, "z") for _ in range(5)]
    assert all(decision.allowed for decision in decisions)
    assert "rate limit cache unavailable" in caplog.text


def test_a_value_sent_with_the_count_is_stored_only_while_allowed() -> None:
    for index in range(4):
        ratelimit.hit(LIMIT, "w", now=1000.0, then_set=Entry(f"stored-{index}", {"n": index}, 60))
    assert [cache.get(f"stored-{index}") for index in range(4)] == [{"n": 0}, {"n": 1}, {"n": 2}, None]


def test_cache_down_refuses_a_request_whose_value_would_be_lost(settings) -> None:
    """A limit that fails open still refuses when the caller needs its value stored."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    assert ratelimit.hit(LIMIT, "v").allowed
    with pytest.raises(ApiError) as raised:
        ratelimit.hit(LIMIT, "v", then_set=Entry("lost", 1, 60))
    assert raised.value.code is ErrorCode.SERVICE_UNAVAILABLE


@pytest.mark.redis
def test_counts_are_shared_across_processes() -> None:
    """Another worker process, sharing only Redis, counts into the same bucket."""
    ratelimit.hit(LIMIT, "shared", now=1000.0)
    code = (
        "import django; django.setup(); from core import ratelimit; from core.ratelimit import Limit;"
        "print(ratelimit.hit(Limit('test', 3, 60), 'shared', now=1000.0).count)"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test", MANA_TEST_CACHE_PREFIX=cache.key_prefix)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "2"
    assert ratelimit.hit(LIMIT, "shared", now=1000.0).count == 3
