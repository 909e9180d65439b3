"""The Chat API rate limit is shared by every server process through Redis (two limiters
stand for two processes here), and kept in memory without Redis."""
import uuid

import pytest
from django.conf import settings as django_settings

from integrations.chat_api import ratelimit


@pytest.mark.django_db
async def test_two_processes_sharing_redis_share_one_limit(settings):
    assert django_settings.REDIS_URL, "this test needs REDIS_URL (the loopback Redis)"
    settings.CHAT_API_RATE_LIMIT = 3  # per second, 6 in two seconds
    first, second = ratelimit.Limiter(), ratelimit.Limiter()
    caller = f"key:{uuid.uuid4()}"
    allowed = 0
    for turn in range(6):
        await ratelimit.check("hook", caller, limiter=first if turn % 2 else second)
        allowed += 1
    for limiter in (first, second):
        with pytest.raises(ratelimit.RateLimited) as refused:
            await ratelimit.check("hook", caller, limiter=limiter)
        assert 0 < refused.value.retry_after <= ratelimit.WINDOW_SECONDS
    assert allowed == 6
    # Another caller has its own count.
    await ratelimit.check("hook", f"key:{uuid.uuid4()}", limiter=first)


@pytest.mark.django_db
async def test_without_redis_each_process_counts_in_memory(settings):
    settings.CHAT_API_RATE_LIMIT = 1
    first, second = ratelimit.Limiter(redis_url=""), ratelimit.Limiter(redis_url="")
    for limiter in (first, second):
        await ratelimit.check("hook", "ip:1.2.3.4", limiter=limiter)
        await ratelimit.check("hook", "ip:1.2.3.4", limiter=limiter)
        with pytest.raises(ratelimit.RateLimited):
            await ratelimit.check("hook", "ip:1.2.3.4", limiter=limiter)


@pytest.mark.django_db
async def test_an_unreachable_redis_lets_requests_through(settings, caplog):
    settings.CHAT_API_RATE_LIMIT = 1
    nowhere = ratelimit.Limiter(redis_url="redis://127.0.0.1:1/0")
    for _ in range(3):
        await ratelimit.check("hook", "ip:5.6.7.8", limiter=nowhere)
    assert "rate limit not checked" in caplog.text
