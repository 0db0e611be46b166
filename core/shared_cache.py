"""Atomic steps on the shared cache that Django's cache API has no single call for. On Redis each
is one round trip (a server-side script, run by its hash); on other caches (development, tests
without Redis) the same step from the cache API's calls."""

from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django_redis.cache import RedisCache
from redis import Redis
from redis.commands.core import Script

# The count and, on the window's first hit, its expiry; with a second key, the value stored there
# while the count is within the limit.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if KEYS[2] and count <= tonumber(ARGV[2]) then redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4]) end
return count
"""
# The value, which no later caller gets, and the count at a second key when one is given (0 when
# it has none).
_TAKE = """
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
local count = KEYS[2] and redis.call('GET', KEYS[2])
return {value or false, tonumber(count or 0)}
"""
_scripts: dict[str, Script] = {}


def _run(backend: RedisCache, source: str, keys: list[str], *args: Any) -> Any:
    client: Redis = backend.client.get_client(write=True)
    script = _scripts.get(source) or _scripts.setdefault(source, client.register_script(source))
    return script(keys=[backend.client.make_key(key) for key in keys], args=list(args), client=client)


@dataclass(frozen=True)
class Entry:
    """A value to store at `key` for `timeout` seconds."""

    key: str
    value: Any
    timeout: int


def counter_hit(key: str, timeout: int, *, then_set: Entry | None = None, limit: int = 0) -> int:
    """Add one to the counter at `key`, which expires `timeout` seconds after its first hit. With
    `then_set`, that entry is stored in the same round trip if the count is at most `limit`: a
    refused caller stores nothing."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        if then_set is None:
            return int(_run(backend, _COUNT, [key], timeout))
        return int(_run(backend, _COUNT, [key, then_set.key], timeout, limit, backend.client.encode(then_set.value), then_set.timeout))
    backend.add(key, 0, timeout=timeout)
    try:
        count = int(backend.incr(key))
    except ValueError:  # expired between add and incr
        backend.add(key, 1, timeout=timeout)
        count = 1
    if then_set is not None and count <= limit:
        backend.set(then_set.key, then_set.value, timeout=then_set.timeout)
    return count


def value_take(key: str) -> Any:
    """The value at `key`, deleted as it is read: of callers racing for it, one gets it, the others None."""
    return _taken(key, None)[0]


def value_take_and_count(key: str, counter: str) -> tuple[Any, int]:
    """`value_take(key)` and the count of `counter_hit`'s counter at `counter`, in one round trip."""
    return _taken(key, counter)


def _taken(key: str, counter: str | None) -> tuple[Any, int]:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        raw, count = _run(backend, _TAKE, [key] if counter is None else [key, counter])
        return (None if raw is None else backend.client.decode(raw)), int(count)
    value = backend.get(key)
    taken = value if value is not None and backend.delete(key) else None
    return taken, int(backend.get(counter) or 0) if counter is not None else 0
