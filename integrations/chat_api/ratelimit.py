"""Per-caller request rate limit of the Chat API (429 RateLimited), a token bucket per user
key (or per client address for calls without one), kept in each server process: with N
processes a caller may get up to N times the rate. Off when the rate is 0."""
from __future__ import annotations

import math
import threading
import time

from . import conf
from .errors import ChatApiError

_MAX_BUCKETS = 100_000


class RateLimited(ChatApiError):
    type = "RateLimited"

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class _Buckets:
    def __init__(self):
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def take(self, key: str, rate: float, burst: float) -> float:
        """0 when allowed, else the seconds until a request would be."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._tokens.get(key, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens >= 1:
                self._tokens[key] = (tokens - 1, now)
                wait = 0.0
            else:
                self._tokens[key] = (tokens, now)
                wait = (1 - tokens) / rate
            if len(self._tokens) > _MAX_BUCKETS:
                self._tokens.clear()  # a flood of one-off keys: forget them all (full buckets)
        return wait


_buckets = _Buckets()


def check(webhook_id: str, caller: str) -> None:
    rate = float(conf.get("CHAT_API_RATE_LIMIT"))
    if rate <= 0:
        return
    wait = _buckets.take(f"{webhook_id}:{caller}", rate, 2 * rate)
    if wait:
        raise RateLimited(f"too many requests: at most {rate:g} per second per user; retry in {wait:.1f} s", wait)


def headers(exc: RateLimited) -> dict:
    rate = float(conf.get("CHAT_API_RATE_LIMIT"))
    return {"Retry-After": str(math.ceil(exc.retry_after)), "RateLimit-Limit": f"{rate:g}",
            "RateLimit-Remaining": "0", "RateLimit-Reset": str(math.ceil(exc.retry_after))}
