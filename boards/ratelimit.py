"""A fixed-window request counter in Django's cache, for the share-link screens.

A screen polls every few minutes; a person guessing tokens (256 bits: hopeless anyway) or a
misbehaving page hammers. Each key gets `requests` per `window` seconds; the answer past that
is how many seconds remain until the window ends (the 429's Retry-After).
"""

import math
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    requests: int
    window: int  # seconds


def hit(key: str, limit: Limit, now: float | None = None) -> int | None:
    """Count one request for `key`; None if allowed, else seconds to wait."""
    now = time.time() if now is None else now
    window_index = int(now // limit.window)
    cache_key = f"boards:rl:{key}:{window_index}"
    # add() is atomic where the backend is (memcached, Redis, database, local memory).
    cache.add(cache_key, 0, timeout=limit.window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.set(cache_key, 1, timeout=limit.window + 1)
        count = 1
    if count <= limit.requests:
        return None
    return max(1, math.ceil((window_index + 1) * limit.window - now))
