"""A real server for tests that need one: Daphne in a subprocess on a free port, on the
test database (committed data only: use transactional tests) and the loopback Redis, and
optionally a Celery worker on a queue of its own."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parents[3]


def server_env(**extra) -> dict:
    db = connection.settings_dict
    # A subprocess is not a test process: point its DATABASE_URL straight at the test database.
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "studio.settings", "CELERY_TASK_ALWAYS_EAGER": "false", **extra}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def daphne(log_dir: Path, *, probe_path: str = "/admin/login/", **env):
    """Yields the base URL (http://127.0.0.1:<port>) once the server answers."""
    assert settings.REDIS_URL, "live Chat API tests need REDIS_URL (the loopback Redis)"
    for _attempt in range(3):
        port = _free_port()
        log_path = log_dir / f"daphne-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "studio.asgi:application"],
                cwd=PROJECT_DIR, env=server_env(**env), stdout=log, stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                urllib.request.urlopen(base + probe_path, timeout=2)
                break
            except urllib.error.HTTPError:
                break  # it answered
            except OSError:
                time.sleep(0.2)
        if process.poll() is None and time.monotonic() < deadline:
            try:
                yield base
            finally:
                _stop(process)
            return
        _stop(process)
        if "Address already in use" not in log_path.read_text():
            raise RuntimeError(f"daphne did not start; its log:\n{log_path.read_text()[-4000:]}")
    raise RuntimeError("daphne found no free port in 3 attempts")


@contextmanager
def celery_worker(log_dir: Path, **env):
    """Yields the name of a queue only this worker consumes."""
    queue = f"flowstudio-test-{uuid.uuid4().hex}"
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
        _stop(process)
        from studio.celery import app

        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
