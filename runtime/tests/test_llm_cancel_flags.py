"""A stop taken by another server process reaches a call that starts later through its
Redis flag (runtime/llm_gateway.py, "cancel"): the call reads the flag before it sends
anything. With many turns waiting at once, the flags are read together; before, each call
sent a GET of its own on the loop's one Redis client, whose pool holds 100 connections, so
past the 100th waiting call the read failed ("Too many connections"), was logged and taken
as "not stopped": a user's stop among 150 waiting turns was lost.

Against real Redis (REDIS_URL); the calls stand for a model's answer (a short sleep), the
flags are written as another process's `cancel` writes them."""
import asyncio

import pytest
from django.conf import settings

from runtime import llm_gateway
from runtime.engine.llm import LLMCancelled

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="the cancel flags live in Redis")

ANSWER = "the model's answer"


def _answer():
    async def answer():
        await asyncio.sleep(0.3)
        return ANSWER
    return answer


def _run_calls(keys_and_seqs):
    """Every call at once on the LLM loop; what each ended with: its answer or "cancelled"."""
    async def one(key, seq):
        try:
            return await llm_gateway._cancellable(key, seq, _answer())
        except LLMCancelled:
            return "cancelled"

    async def all_at_once():
        return await asyncio.gather(*(one(key, seq) for key, seq in keys_and_seqs))

    return llm_gateway.llm_loop.run(all_at_once)


@pytest.fixture
def redis_flags():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    written = []

    def stop_elsewhere(key, up_to_event_seq):
        name = f"{llm_gateway._prefix()}:{key}"
        client.set(name, up_to_event_seq, ex=60)
        written.append(name)

    yield stop_elsewhere
    if written:
        client.delete(*written)
    client.close()


def test_a_stop_from_another_process_among_150_waiting_turns_cancels_that_turn_only(redis_flags):
    keys = [f"flags-test-{i}.1" for i in range(150)]
    # The stopped conversation is the 141st call: past the 100 connections of the old reads.
    redis_flags(keys[140], 7)
    # A stop that covered an earlier event of another conversation: its new turn goes on.
    redis_flags(keys[141], 6)

    results = _run_calls([(key, 7) for key in keys])

    assert results[140] == "cancelled"
    assert [i for i, result in enumerate(results) if result == "cancelled"] == [140]
    assert all(result == ANSWER for i, result in enumerate(results) if i != 140)


def test_stops_of_several_conversations_each_cancel_their_own_call(redis_flags):
    keys = [f"flags-test-many-{i}.1" for i in range(40)]
    stopped = {3, 17, 39}
    for i in stopped:
        redis_flags(keys[i], 2)

    results = _run_calls([(key, 2) for key in keys])

    assert {i for i, result in enumerate(results) if result == "cancelled"} == stopped
    assert all(result == ANSWER for i, result in enumerate(results) if i not in stopped)


def test_a_call_that_starts_after_the_batch_is_read_still_reads_its_flag(redis_flags):
    """Calls starting while a read is out are read in the next one, not forgotten."""
    redis_flags("flags-test-late.1", 3)

    async def staggered():
        async def one(key, delay):
            await asyncio.sleep(delay)
            try:
                return await llm_gateway._cancellable(key, 3, _answer())
            except LLMCancelled:
                return "cancelled"
        return await asyncio.gather(one("flags-test-early.1", 0), one("flags-test-late.1", 0.001),
                                    one("flags-test-later.1", 0.05))

    assert llm_gateway.llm_loop.run(staggered) == [ANSWER, "cancelled", ANSWER]
