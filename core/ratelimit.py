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

from django.core.cache import cache

from core import clock
from core.errors import ApiError, ErrorCode
from core.shared_cache import Entry, counter_hit

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


def hit(limit: Limit, identity: str, *, now: float | None = None, then_set: Entry | None = None) -> Decision:
    """Count one request for `identity` and say whether it is within the limit. `then_set`: a
    value the request stores when it is allowed, sent with the count (one round trip); since the
    caller relies on it being stored, a cache failure then refuses even where the limit fails open."""
    now = clock.timestamp() if now is None else now
    index, retry_after = _window(limit, now)
    key = _key(limit, identity, index)
    try:
        count = counter_hit(key, limit.window_seconds + 1, then_set=then_set, limit=limit.limit)
    except Exception as exc:
        if limit.fail_closed or then_set is not None:
            logger.exception("rate limit cache unavailable; refusing %s", limit.scope)
            raise ApiError(ErrorCode.SERVICE_UNAVAILABLE) from exc
        logger.exception("rate limit cache unavailable; allowing %s", limit.scope)
        return Decision(allowed=True, count=0, retry_after=0)
    return Decision(allowed=count <= limit.limit, count=count, retry_after=retry_after)


def enforce(limit: Limit, identity: str, *, then_set: Entry | None = None) -> None:
    decision = hit(limit, identity, then_set=then_set)
    if not decision.allowed:
        raise ApiError(ErrorCode.RATE_LIMITED, retry_after=decision.retry_after)


def counter_key(limit: Limit, identity: str, *, now: float) -> str:
    """Where `identity`'s count of the window at `now` lives, for a caller that reads it along with
    another step on the shared cache (core/shared_cache.py)."""
    return _key(limit, identity, _window(limit, now)[0])


def reset(limit: Limit, identity: str, *, now: float | None = None) -> None:
    try:
        cache.delete(counter_key(limit, identity, now=clock.timestamp() if now is None else now))
    except Exception:
        logger.exception("rate limit cache unavailable; could not reset %s", limit.scope)
