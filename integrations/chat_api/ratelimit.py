"""Per-caller request rate limit of the Chat API (429 RateLimited): `CHAT_API_RATE_LIMIT`
requests per second per user key (or per client address for calls without one), in bursts
of up to twice that, counted by the `limits` package in a moving window of two seconds.

With REDIS_URL the counts live in Redis, so the limit holds across every server process;
without it (the embedded default: one process) they are in memory. If Redis cannot be
reached the request is let through and a warning logged: the limit protects the service,
and refusing everyone because of it would be the outage it is there to prevent.
Off when the rate is 0.
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref

from django.conf import settings
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from . import conf
from .errors import ChatApiError

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 2


class RateLimited(ChatApiError):
    type = "RateLimited"

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


def _namespace() -> str:
    from runtime import redis_keys

    # As the hub's channels: installations (and parallel test databases) sharing one Redis
    # count apart.
    return f"{redis_keys.prefix()}:ratelimit"


class Limiter:
    """One process's view of the shared counts (tests make two to stand for two processes)."""

    def __init__(self, redis_url: str | None = None):
        redis_url = settings.REDIS_URL if redis_url is None else redis_url
        if redis_url:
            storage = RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix=_namespace(),
                                   wrap_exceptions=True)
        else:
            storage = MemoryStorage()
        self._strategy = MovingWindowRateLimiter(storage)

    async def take(self, key: str, rate: float) -> float:
        """0 when allowed, else the seconds until a request would be."""
        item = RateLimitItemPerSecond(max(1, math.ceil(WINDOW_SECONDS * rate)), WINDOW_SECONDS)
        try:
            if await self._strategy.hit(item, key):
                return 0.0
            reset, _ = await self._strategy.get_window_stats(item, key)
        except Exception as exc:  # limits.errors.StorageError: Redis unreachable
            logger.warning("Chat API rate limit not checked: %s", exc)
            return 0.0
        return max(reset - time.time(), 1 / rate)


# Each event loop gets its own limiter: an async Redis client belongs to the loop it runs on.
_limiters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _limiter() -> Limiter:
    loop = asyncio.get_running_loop()
    found = _limiters.get(loop)
    if found is None:
        found = _limiters[loop] = Limiter()
    return found


async def check(webhook_id: str, caller: str, limiter: Limiter | None = None) -> None:
    rate = float(conf.get("CHAT_API_RATE_LIMIT"))
    if rate <= 0:
        return
    wait = await (limiter or _limiter()).take(f"{webhook_id}:{caller}", rate)
    if wait:
        raise RateLimited(f"too many requests: at most {rate:g} per second per user; retry in {wait:.1f} s", wait)


def headers(exc: RateLimited) -> dict:
    rate = float(conf.get("CHAT_API_RATE_LIMIT"))
    return {"Retry-After": str(math.ceil(exc.retry_after)), "RateLimit-Limit": f"{rate:g}",
            "RateLimit-Remaining": "0", "RateLimit-Reset": str(math.ceil(exc.retry_after))}
