"""The periodic work of the embedded default, which has no Celery beat or worker.

With `REDIS_URL` unset, tasks run eagerly and no `celery beat` process exists, so inactivity
timeouts and state expiries would never fire. The server process (studio/asgi.py) therefore
starts this one daemon thread, which runs the same `CELERY_BEAT_SCHEDULE` in-process with
Celery's own schedule objects: each entry once at start (what fell due while the server was
down), then on its interval. One thread per process, at most; under runserver's autoreload
only the serving child imports the ASGI application, so the reloader starts none.
`FLOWSTUDIO_EMBEDDED_BEAT` (docs/deploy.md) turns it on or off; tests leave it off.
"""
from __future__ import annotations

import logging
import threading

from celery.schedules import maybe_schedule
from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None
# How long the thread sleeps at most between looks at the schedule (seconds).
MAX_SLEEP = 60.0


def start(app, stop: threading.Event | None = None) -> threading.Thread | None:
    """Start the thread for the Celery `app` unless one runs in this process already; None
    when it did not start."""
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            return None
        _thread = threading.Thread(target=run, args=(app, stop or threading.Event()),
                                   name="flowstudio-embedded-beat", daemon=True)
        _thread.start()
        return _thread


def run(app, stop: threading.Event) -> None:
    app.loader.import_default_modules()
    entries = {name: (entry["task"], maybe_schedule(entry["schedule"], app=app))
               for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
    last_run = dict.fromkeys(entries)
    logger.info("embedded beat started: %s", ", ".join(entries))
    while not stop.is_set():
        wait = MAX_SLEEP
        for name, (task_name, schedule) in entries.items():
            if last_run[name] is None or schedule.is_due(last_run[name]).is_due:
                _run_task(app, task_name)
                last_run[name] = app.now()
            wait = min(wait, max(schedule.is_due(last_run[name]).next, 0.5))
        stop.wait(wait)


def _run_task(app, task_name: str) -> None:
    try:
        app.tasks[task_name].apply(throw=True)
    except Exception:
        # One failing tick must not end the thread: the next tick tries again.
        logger.exception("embedded beat: %s failed", task_name)
    finally:
        # This thread's own connections; the server's threads keep theirs.
        connections.close_all()
