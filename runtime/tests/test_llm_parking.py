"""A turn waiting on a language model parks its engine thread: the slot is free for other
turns meanwhile, so turns of one bot waiting on a slow model overlap instead of queueing
behind the per-bot cap (docs/ai.md, "How a turn waits")."""
import threading
import time

from runtime import engine_pool
from runtime.engine_pool import EnginePool


def _waits_on_a_model(seconds, log, name):
    log.append(("start", name))
    with engine_pool.parked():
        time.sleep(seconds)
    log.append(("end", name))
    return name


def test_parked_turns_of_one_bot_overlap_and_resume():
    pool = EnginePool(threads=1, per_bot=1, parked=16)
    log = []
    started = time.monotonic()
    futures = [pool.submit("bot-a", _waits_on_a_model, 0.4, log, i) for i in range(8)]
    assert sorted(f.result(timeout=10) for f in futures) == list(range(8))
    elapsed = time.monotonic() - started
    # Queued behind one slot they would take 8 x 0.4 s; parked, they wait together.
    assert elapsed < 1.6, elapsed
    assert all(kind == "start" for kind, _ in log[:8])
    pool.shutdown()


def test_a_parked_turn_lets_another_bot_run_and_a_resumed_turn_goes_first():
    pool = EnginePool(threads=1, per_bot=1, parked=4)
    released = threading.Event()
    order = []

    def waiting():
        with engine_pool.parked():
            released.wait(5)
        order.append("resumed")

    def other():
        order.append("other bot ran")

    first = pool.submit("bot-a", waiting)
    time.sleep(0.1)
    second = pool.submit("bot-b", other)
    second.result(timeout=5)  # ran while bot-a's turn was parked
    released.set()
    first.result(timeout=5)
    assert order == ["other bot ran", "resumed"]
    pool.shutdown()


def test_parked_outside_a_pool_job_is_a_no_op():
    with engine_pool.parked():
        pass


def test_turns_whose_answers_came_resume_in_that_order_one_per_free_slot():
    pool = EnginePool(threads=1, per_bot=8, parked=8)
    answers = [threading.Event() for _ in range(5)]
    hold = threading.Event()
    order = []

    def waiting(n):
        with engine_pool.parked():
            answers[n].wait(5)
        order.append(n)

    def holding():  # keeps the one slot while the answers come
        hold.wait(5)

    futures = [pool.submit("bot-a", waiting, n) for n in range(5)]
    time.sleep(0.2)  # all five parked
    holder = pool.submit("bot-b", holding)
    time.sleep(0.1)
    for n in (3, 0, 4, 1, 2):  # the answers come in this order while the slot is taken
        answers[n].set()
        time.sleep(0.05)
    hold.set()
    holder.result(timeout=5)
    for future in futures:
        future.result(timeout=5)
    assert order == [3, 0, 4, 1, 2]
    pool.shutdown()
