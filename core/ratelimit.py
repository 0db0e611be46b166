"""Fixed-window rate limits on the shared cache (Redis in production), so every worker process
on every host counts into the same bucket (DESIGN.md rule 6).

When the cache fails, the limits that guard credentials (sign-in, the second factor, mailed
links, registration) fail closed with 503, as API.md says of a cache outage: an attacker must not
get unlimited guesses by knocking the cache over. The others fail open and say so in the log.
"""

import hashlib
import logging
import math
from dataclasses import dataclass

from django.core.cache import cache, caches
from django_redis.cache import RedisCache
from redis.commands.core import Script

from core import clock
from core.errors import ApiError, ErrorCode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    scope: str
    limit: int
    window_seconds: int
    fail_closed: bool = False  # True for the limits that guard credentials


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int


def _key(limit: Limit, identity: str, window_index: int) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"rl:{limit.scope}:{digest}:{window_index}"


def _window(limit: Limit, now: float) -> tuple[int, int]:
    index = int(now // limit.window_seconds)
    retry_after = max(1, math.ceil((index + 1) * limit.window_seconds - now))
    return index, retry_after


# One hit on Redis: the count and, on the window's first hit, its expiry, atomically in one round trip.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_hit_script: Script | None = None


def _count(key: str, timeout: int) -> int:
    global _hit_script
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend.client.get_client(write=True)
        if _hit_script is None:
            _hit_script = client.register_script(_HIT_SCRIPT)
        return int(_hit_script(keys=[backend.client.make_key(key)], args=[timeout], client=client))
    cache.add(key, 0, timeout=timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


def hit(limit: Limit, identity: str, *, now: float | None = None) -> Decision:
    """Count one request for `identity` and say whether it is within the limit."""
    now = clock.timestamp() if now is None else now
    index, retry_after = _window(limit, now)
    key = _key(limit, identity, index)
    try:
        count = _count(key, limit.window_seconds + 1)
    except Exception as exc:
        if limit.fail_closed:
            logger.exception("rate limit cache unavailable; refusing %s", limit.scope)
            raise ApiError(ErrorCode.SERVICE_UNAVAILABLE) from exc
        logger.exception("rate limit cache unavailable; allowing %s", limit.scope)
        return Decision(allowed=True, count=0, retry_after=0)
    return Decision(allowed=count <= limit.limit, count=count, retry_after=retry_after)


def enforce(limit: Limit, identity: str) -> None:
    decision = hit(limit, identity)
    if not decision.allowed:
        raise ApiError(ErrorCode.RATE_LIMITED, retry_after=decision.retry_after)


def reset(limit: Limit, identity: str, *, now: float | None = None) -> None:
    index, _ = _window(limit, clock.timestamp() if now is None else now)
    try:
        cache.delete(_key(limit, identity, index))
    except Exception:
        logger.exception("rate limit cache unavailable; could not reset %s", limit.scope)
