"""Engine work runs on a bounded pool, fair between bots, with a budget per turn: a
busy-looping bot fails its own turn cleanly and cannot hold the event loop or another bot's
turns (issue 14, item 1)."""
import asyncio
import threading
import time

import pytest
from django.db import connection

from runtime import async_turns, turns
from runtime.engine_pool import EnginePool
from runtime.models import Event, Message
from runtime.tests.bots import busy_bot, create_bot, echo_bot
from runtime.tests.server_loop import close_pools, run, server_loop

BUDGET_MS = 1500
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the loop's executor is PostgreSQL's")


@pytest.fixture(autouse=True)
def _budget(settings):
    settings.FLOWSTUDIO_TURN_BUDGET_MS = BUDGET_MS
    yield
    close_pools()


def _assert_failed_on_budget(conversation, event_pk, elapsed):
    # 600 ms a pass, ten passes allowed by the loop guard: 6 s without a budget.
    assert elapsed < BUDGET_MS / 1000 + 1.5
    event = Event.objects.get(pk=event_pk)
    assert event.status == "failed"
    assert event.error.startswith(f"TurnBudgetExceeded: the turn ran longer than its budget of {BUDGET_MS} ms")
    # Only the fallback message: the visitor is told, nothing of the turn itself was kept.
    assert [m.payload for m in Message.objects.filter(conversation=conversation, direction="outgoing")] == [
        {"text": "Sorry, something went wrong."}]
    conversation.refresh_from_db()
    assert conversation.state == {}  # nothing of the turn was stored


@pytest.mark.django_db(transaction=True)
def test_a_turn_over_its_budget_fails_cleanly_on_the_orm_executor():
    bot = create_bot(busy_bot("Busy threads", busy_ms=600))
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "someone"))
    started = time.monotonic()
    outcome = turns.send_user_message(conversation, "go")
    _assert_failed_on_budget(conversation, outcome.event.pk, time.monotonic() - started)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_turn_over_its_budget_fails_cleanly_on_the_loop_and_the_loop_stays_free():
    bot = create_bot(busy_bot("Busy loop", busy_ms=600))
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "someone"))
    event = run(async_turns.receive_event(conversation, "text", {"text": "go"}))

    async def turn_and_loop_lag():
        lags = []
        done = async_turns.process_soon(conversation.pk)
        while not done.done():
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - before - 0.01)
        return lags

    started = time.monotonic()
    lags = run(turn_and_loop_lag())
    _assert_failed_on_budget(conversation, event.pk, time.monotonic() - started)
    # The loop kept running every 10 ms while the engine spun (it ran the turn elsewhere).
    assert len(lags) > 20 and max(lags) < 0.25, max(lags)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_busy_bot_does_not_delay_another_bots_turns():
    busy = create_bot(busy_bot("Busy neighbour", busy_ms=600))
    quiet = create_bot(echo_bot("Quiet neighbour"))
    busy_conversations = [turns.start_conversation(busy, turns.get_or_create_user(busy, f"noisy-{i}"))
                          for i in range(4)]
    quiet_conversation = turns.start_conversation(quiet, turns.get_or_create_user(quiet, "calm"))

    async def scenario():
        for conversation in busy_conversations:
            await async_turns.receive_event(conversation, "text", {"text": "spin"})
        busy_turns = [async_turns.process_soon(c.pk) for c in busy_conversations]
        await asyncio.sleep(0.2)  # the busy bot's turns hold their engine thread and queue
        timings = []
        for n in range(3):
            started = time.monotonic()
            await async_turns.receive_event(quiet_conversation, "text", {"text": f"hello {n}"})
            await async_turns.process_soon(quiet_conversation.pk)
            timings.append(time.monotonic() - started)
        await asyncio.wait(busy_turns, timeout=30)
        return timings

    timings = run(scenario(), timeout=60)
    # Each of the busy bot's turns takes its whole budget (1.5 s) and there are four of them,
    # one after the other: the quiet bot's turns went past them, not after even one.
    assert max(timings) < 1.0, timings
    replies = Message.objects.filter(conversation=quiet_conversation, direction="outgoing").order_by("seq")
    assert [m.payload["text"] for m in replies] == ["got hello 0", "got hello 1", "got hello 2"]
    assert set(Event.objects.filter(conversation__bot=busy).values_list("status", flat=True)) == {"failed"}


def test_the_pool_caps_each_bot_and_serves_waiting_bots_in_turn():
    pool = EnginePool(threads=2, per_bot=1)
    running, most, lock = {"a": 0, "b": 0, "c": 0}, {"a": 0, "b": 0, "c": 0}, threading.Lock()
    order = []

    def job(bot, n):
        with lock:
            running[bot] += 1
            most[bot] = max(most[bot], running[bot])
            order.append(f"{bot}{n}")
        time.sleep(0.05)
        with lock:
            running[bot] -= 1
        return bot, n

    try:
        futures = [pool.submit("a", job, "a", n) for n in range(4)]
        futures += [pool.submit("b", job, "b", n) for n in range(2)]
        futures += [pool.submit("c", job, "c", 0)]
        results = [f.result(timeout=10) for f in futures]
    finally:
        pool.shutdown()
    assert sorted(results) == sorted([("a", n) for n in range(4)] + [("b", 0), ("b", 1), ("c", 0)])
    assert most == {"a": 1, "b": 1, "c": 1}  # one thread per bot at a time
    # a and b started at once; then the waiting bots took turns instead of a's queue going first.
    assert order.index("c0") < order.index("a2")
    assert order.index("b1") < order.index("a3")


def test_a_failing_job_reaches_its_caller_and_frees_its_thread():
    pool = EnginePool(threads=1, per_bot=1)

    def boom():
        raise RuntimeError("broken")

    try:
        with pytest.raises(RuntimeError, match="broken"):
            pool.submit("a", boom).result(timeout=5)
        assert pool.submit("a", lambda: 42).result(timeout=5) == 42
    finally:
        pool.shutdown()


def test_run_awaits_on_the_pool_not_the_loop():
    from runtime import engine_pool

    async def where():
        return await engine_pool.run("bot", threading.current_thread)

    thread = asyncio.run_coroutine_threadsafe(where(), server_loop()).result(10)
    assert thread.name.startswith("engine")
