"""A real server for tests that need one: the production server (scripts/serve.sh) on a
free port, on the test database (committed data only: use transactional tests) and the
loopback Redis, and optionally a Celery worker on a queue of its own."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from runtime.tests.live_server import serve

PROJECT_DIR = Path(__file__).resolve().parents[3]


def server_env(**extra) -> dict:
    db = connection.settings_dict
    # A subprocess is not a test process: point its DATABASE_URL straight at the test database.
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "studio.settings", "CELERY_TASK_ALWAYS_EAGER": "false", **extra}


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def live_server(log_dir: Path, *, workers: int = 2, **env):
    """The production server (scripts/serve.sh web, runtime/tests/live_server.py), with
    two workers so signals cross processes as in a deployment; yields its base URL."""
    with serve(log_dir, workers=workers, env=env) as base:
        yield base


@contextmanager
def celery_worker(log_dir: Path, **env):
    """Yields the name of a queue only this worker consumes. The worker sends the workflow
    steps and conversation turns it enqueues itself to that queue too (a test process sends
    its own there with `settings.FLOWSTUDIO_WORKFLOW_QUEUE = queue`)."""
    queue = f"flowstudio-test-{uuid.uuid4().hex}"
    env.setdefault("FLOWSTUDIO_WORKFLOW_QUEUE", queue)
    log_path = log_dir / "worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "studio", "worker", "--pool=solo", "-c", "1", "-Q", queue,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
            cwd=PROJECT_DIR, env=server_env(**env), stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        yield queue
    finally:
        stop_process(process)
        from studio.celery import app

        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
