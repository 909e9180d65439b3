"""Facts for /healthz, /readyz and /metrics (studio/views/health.py): is the database there
with every migration applied, is Redis there, has a Celery worker been seen lately, how many
events and tasks wait.

A Celery worker proves it is alive by a heartbeat key in Redis (written every
HEARTBEAT_SECONDS by `start_worker_heartbeat`, studio/celery.py, expiring after
HEARTBEAT_TTL_SECONDS): "seen recently" means that key exists.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10
HEARTBEAT_TTL_SECONDS = 60


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def heartbeat_key() -> str:
    from runtime import redis_keys

    return f"{redis_keys.prefix()}:worker-heartbeat"


def database_problem() -> str | None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    if pending:
        return f"{len(pending)} migration(s) not applied, e.g. {pending[0][0].app_label}.{pending[0][0].name}"
    return None


def redis_problem() -> str | None:
    try:
        _redis().ping()
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return None


def worker_problem() -> str | None:
    try:
        seen = _redis().get(heartbeat_key())
    except Exception as exc:
        return f"Redis unreachable: {type(exc).__name__}"
    if seen is None:
        return f"no Celery worker seen in the last {HEARTBEAT_TTL_SECONDS} s"
    return None


def readiness() -> dict[str, str]:
    """Each check's result: "ok", "skipped: ..." or what is wrong."""
    checks = {"database": database_problem() or "ok"}
    if settings.REDIS_URL:
        checks["redis"] = redis_problem() or "ok"
    else:
        checks["redis"] = "skipped: no REDIS_URL (the embedded default)"
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["worker"] = "skipped: tasks run in the web process (CELERY_TASK_ALWAYS_EAGER)"
    else:
        checks["worker"] = worker_problem() or "ok"
    return checks


def record_heartbeat(hostname: str) -> None:
    _redis().set(heartbeat_key(), json.dumps({"hostname": hostname, "pid": os.getpid(), "at": time.time()}),
                 ex=HEARTBEAT_TTL_SECONDS)


def start_worker_heartbeat(hostname: str | None = None) -> threading.Thread:
    """In a Celery worker's main process: a daemon thread refreshing the heartbeat key."""
    hostname = hostname or socket.gethostname()

    def beat():
        while True:
            try:
                record_heartbeat(hostname)
            except Exception as exc:
                logger.warning("worker heartbeat not written: %s", exc)
            time.sleep(HEARTBEAT_SECONDS)

    thread = threading.Thread(target=beat, name="flowstudio-heartbeat", daemon=True)
    thread.start()
    return thread


def events_waiting() -> int:
    from runtime.models import Event

    return Event.objects.filter(status=Event.Status.RECEIVED).count()


def queue_depths() -> dict[str, int]:
    """Tasks waiting in the Celery queues on Redis (the default one and the Chat API's)."""
    if not settings.REDIS_URL or settings.CELERY_TASK_ALWAYS_EAGER:
        return {}
    queues = {"celery", os.environ.get("CHAT_API_CELERY_QUEUE") or getattr(settings, "CHAT_API_CELERY_QUEUE", None)}
    client = _redis()
    return {queue: int(client.llen(queue)) for queue in sorted(q for q in queues if q)}
