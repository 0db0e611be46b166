"""The shared cache's atomic steps (core/shared_cache.py): one round trip each on Redis, the same
answers from the cache API's calls elsewhere."""

import pytest
from django.core.cache import caches
from django_redis.cache import RedisCache
from pytest_django import Settings

from core.shared_cache import Entry, counter_hit, value_take, value_take_and_count
from tests.support import RunConcurrently, redis_commands_sent

LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "shared-cache-test"}}


def _steps(settings: Settings, backend: str) -> None:
    if backend == "locmem":
        settings.CACHES = LOCAL
    caches["default"].set("a-challenge", {"purpose": "authenticate"}, timeout=60)
    assert value_take("a-challenge") == {"purpose": "authenticate"}
    assert value_take("a-challenge") is None  # taken once
    assert value_take("never-set") is None
    assert [counter_hit("a-counter", 60) for _ in range(3)] == [1, 2, 3]
    caches["default"].set("another-challenge", "the value", timeout=60)
    assert value_take_and_count("another-challenge", "a-counter") == ("the value", 3)
    assert value_take_and_count("another-challenge", "a-counter") == (None, 3)  # taken once; the count stays
    assert value_take_and_count("never-set", "no-counter") == (None, 0)
    assert counter_hit("a-counter", 60) == 4
    # A value sent with a hit is stored while the count is within the limit, and not after.
    stored = [counter_hit("b-counter", 60, then_set=Entry(f"b-{n}", {"n": n}, 30), limit=2) for n in range(3)]
    assert stored == [1, 2, 3]
    assert [caches["default"].get(f"b-{n}") for n in range(3)] == [{"n": 0}, {"n": 1}, None]
    assert value_take("b-1") == {"n": 1}  # what the other steps read back


def test_on_a_local_cache(settings: Settings) -> None:
    _steps(settings, "locmem")


@pytest.mark.redis
def test_on_redis(settings: Settings) -> None:
    assert isinstance(caches["default"], RedisCache)
    _steps(settings, "redis")
    client = caches["default"].client
    assert 0 < client.get_client().ttl(client.make_key("a-counter")) <= 60  # set by the first hit
    assert 0 < client.get_client().ttl(client.make_key("b-0")) <= 30  # the entry's own timeout


@pytest.mark.redis
def test_on_redis_each_step_is_one_command(monkeypatch: pytest.MonkeyPatch) -> None:
    counter_hit("warm", 60), value_take("warm"), value_take_and_count("warm", "warm")  # the scripts load on their first use
    counter_hit("warm-counter", 60, then_set=Entry("warm-entry", 1, 60), limit=1)
    sent = redis_commands_sent(monkeypatch)
    counter_hit("one-trip", 60)
    value_take("one-trip")
    value_take_and_count("one-trip", "one-trip")
    counter_hit("one-trip-counter", 60, then_set=Entry("one-trip-entry", 1, 60), limit=1)
    assert sent == ["EVALSHA", "EVALSHA", "EVALSHA", "EVALSHA"]


@pytest.mark.redis
def test_of_callers_racing_for_a_value_one_gets_it(run_concurrently: RunConcurrently) -> None:
    caches["default"].set("raced", "the challenge", timeout=60)
    results = run_concurrently(lambda _: value_take("raced"), 8)
    assert sorted(results, key=str) == [None] * 7 + ["the challenge"]
