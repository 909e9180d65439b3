"""Where the engine runs: a bounded pool of threads per process, never the event loop.

A turn's engine work (cards, expressions, code in V8, understanding) can take as long as
its budget (`FLOWSTUDIO_TURN_BUDGET_MS`); on the server's loop that would stall every
request of the process for every workspace. Here it runs on one of
`FLOWSTUDIO_ENGINE_THREADS` threads, and a bot has at most
`FLOWSTUDIO_ENGINE_THREADS_PER_BOT` of them at a time: the rest of its turns wait in its own
queue, and a thread that comes free takes the next turn of the bot that has waited longest
(round robin), so a bot with a thousand busy turns queued delays another bot's turn by at
most the wait for a free thread, never by its queue.

Threads, not processes: V8 (mini-racer) runs bot code on its own threads without Python's
global lock and stops it at the time limit, so a busy-looping code card costs the process a
core, not its loop. Python engine work does hold the lock, in 5 ms slices, and the per-bot
cap bounds how much of it one bot can have in flight. Callers hold no database connection
while they wait here (runtime/async_turns.py).

A turn that waits on a language model (runtime/llm_gateway.py) parks: its thread gives its
slot back for the wait, so two hundred turns waiting on a slow model hold two hundred idle
threads (up to `FLOWSTUDIO_LLM_WAITING_TURNS` beyond the pool) and no engine slot; when the
answer comes the thread takes a slot again before the turn goes on, ahead of turns that
have not started yet.
"""
from __future__ import annotations

import asyncio
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from contextlib import contextmanager
from concurrent.futures import Future, ThreadPoolExecutor


_slot = threading.local()  # (pool, bot key) of the job the current thread runs


class _Resumer:
    __slots__ = ("bot_key", "woken", "granted")

    def __init__(self, bot_key, woken: threading.Condition):
        self.bot_key, self.woken, self.granted = bot_key, woken, False


class EnginePool:
    def __init__(self, threads: int, per_bot: int, parked: int = 0):
        if threads < 1 or per_bot < 1:
            raise ValueError("the engine pool needs at least one thread, and one per bot")
        self.threads, self.per_bot = threads, per_bot
        # Threads beyond `threads` are for turns parked on an LLM answer (they hold no slot).
        self._executor = ThreadPoolExecutor(max_workers=threads + max(0, parked), thread_name_prefix="engine")
        self._lock = threading.Lock()
        # Parked jobs whose wait is over, waiting for a slot, in the order they came back.
        # Each has its own condition: a freed slot wakes the one it goes to, not all of them
        # (with 200 answers arriving at once, a notify_all per freed slot woke 200 threads
        # to find one slot: 40,000 wake-ups fighting for the GIL).
        self._resumers: deque[_Resumer] = deque()
        self._busy = 0
        self._running: Counter = Counter()
        # bot -> its waiting jobs; the dict's order is the round robin (longest waiting first).
        self._waiting: OrderedDict[object, deque] = OrderedDict()

    def submit(self, bot_key, fn: Callable, *args) -> Future:
        """Run `fn(*args)` on a pool thread when `bot_key` may have one; its future."""
        future: Future = Future()
        with self._lock:
            if (self._busy + len(self._resumers) < self.threads and self._running[bot_key] < self.per_bot
                    and bot_key not in self._waiting):
                self._start(bot_key, fn, args, future)
            else:
                self._waiting.setdefault(bot_key, deque()).append((fn, args, future))
        return future

    def waiting(self) -> int:
        with self._lock:
            return sum(len(jobs) for jobs in self._waiting.values())

    def _start(self, bot_key, fn, args, future: Future) -> bool:
        if not future.set_running_or_notify_cancel():
            return False  # cancelled while it waited
        self._busy += 1
        self._running[bot_key] += 1
        self._executor.submit(self._run, bot_key, fn, args, future)
        return True

    def _run(self, bot_key, fn, args, future: Future) -> None:
        _slot.job = (self, bot_key)
        try:
            result = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            future.set_exception(exc)
        else:
            future.set_result(result)
        finally:
            _slot.job = None
            with self._lock:
                self._release(bot_key)

    def _release(self, bot_key) -> None:  # with the lock held
        self._busy -= 1
        self._running[bot_key] -= 1
        if not self._running[bot_key]:
            del self._running[bot_key]
        self._grant()
        self._dispatch()

    def park(self, bot_key) -> None:
        """The current job gives its slot back while it waits outside the engine."""
        with self._lock:
            self._release(bot_key)

    def unpark(self, bot_key) -> None:
        """Take a slot again, ahead of jobs that have not started (blocks until one is free);
        resumed jobs get their slots in the order they came back."""
        with self._lock:
            if not self._resumers and self._busy < self.threads and self._running[bot_key] < self.per_bot:
                self._take(bot_key)
                return
            resumer = _Resumer(bot_key, threading.Condition(self._lock))
            self._resumers.append(resumer)
            self._grant()
            try:
                while not resumer.granted:
                    resumer.woken.wait()
            except BaseException:
                if resumer.granted:
                    self._release(bot_key)
                else:
                    self._resumers.remove(resumer)
                raise

    def _take(self, bot_key) -> None:  # with the lock held
        self._busy += 1
        self._running[bot_key] += 1

    def _grant(self) -> None:  # with the lock held
        """Hand free slots to the resumers that may have one, first come first."""
        if not self._resumers:
            return
        kept: deque[_Resumer] = deque()
        while self._resumers:
            resumer = self._resumers.popleft()
            if self._busy < self.threads and self._running[resumer.bot_key] < self.per_bot:
                self._take(resumer.bot_key)
                resumer.granted = True
                resumer.woken.notify()
            else:
                kept.append(resumer)
        self._resumers = kept

    def _dispatch(self) -> None:
        for bot_key in list(self._waiting):
            if self._busy + len(self._resumers) >= self.threads:
                return
            if self._running[bot_key] >= self.per_bot:
                continue
            jobs = self._waiting.pop(bot_key)
            while jobs and not self._start(bot_key, *jobs.popleft()):
                pass
            if jobs:
                self._waiting[bot_key] = jobs  # to the back of the round robin

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


_pool: EnginePool | None = None
_pool_lock = threading.Lock()


def pool() -> EnginePool:
    global _pool
    if _pool is None:
        from django.conf import settings

        with _pool_lock:
            if _pool is None:
                _pool = EnginePool(settings.FLOWSTUDIO_ENGINE_THREADS, settings.FLOWSTUDIO_ENGINE_THREADS_PER_BOT,
                                   settings.FLOWSTUDIO_LLM_WAITING_TURNS)
    return _pool


@contextmanager
def parked():
    """Around a wait outside the engine (an LLM answer): the thread's pool slot is free for
    other turns meanwhile. A no-op outside a pool job (tests, the embedded default's threads)."""
    job = getattr(_slot, "job", None)
    if job is None:
        yield
        return
    owner, bot_key = job
    owner.park(bot_key)
    try:
        yield
    finally:
        owner.unpark(bot_key)


async def run(bot_key, fn: Callable, *args):
    """Await `fn(*args)` run on the engine pool, queued fairly by `bot_key`."""
    return await asyncio.wrap_future(pool().submit(bot_key, fn, *args))
