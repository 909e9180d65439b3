"""The production server for tests that need a real one: `scripts/serve.sh web` (uvicorn
with uvloop, httptools and websockets, WEB_CONCURRENCY workers), exactly as a deployment
starts it, on a free port, on the test database (committed data only: use transactional
tests) and the loopback Redis."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
SERVE = PROJECT_DIR / "scripts" / "serve.sh"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict) -> str:
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


# The running servers by base URL, for tests that crash one (tests/chaos).
_running: dict[str, subprocess.Popen] = {}


def kill_hard(base: str) -> None:
    """`kill -9` the server at `base` and all its workers, as a crash does: no shutdown runs,
    its database connections drop (PostgreSQL releases their advisory locks)."""
    process = _running.pop(base)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _stop(process: subprocess.Popen) -> None:
    # serve.sh execs uvicorn, whose supervisor stops its workers on SIGTERM.
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=25)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def serve(log_dir: Path, *, workers: int = 1, probe_path: str = "/healthz", env: dict | None = None):
    """Yields the base URL (http://127.0.0.1:<port>) once the server answers `probe_path`."""
    from django.conf import settings
    from django.db import connection

    assert settings.REDIS_URL, "a live server needs REDIS_URL (the loopback Redis)"
    log_dir.mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):
        port = free_port()
        log_path = log_dir / f"serve-{port}.log"
        server_env = {
            **os.environ,
            # A server is not a test process: point its DATABASE_URL straight at the test database.
            "DATABASE_URL": database_url(connection.settings_dict),
            "STUDIO_LIVE_TEST_DB": connection.settings_dict["NAME"],
            "REDIS_URL": settings.REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "studio.settings",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers),
            "PYTHON": str(PROJECT_DIR / ".venv" / "bin" / "python"),
            "PROMETHEUS_MULTIPROC_DIR": str(log_dir / f"prometheus-{port}"),
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        with open(log_path, "wb") as log:
            process = subprocess.Popen(["bash", str(SERVE), "web"], cwd=PROJECT_DIR, env=server_env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        up = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                urllib.request.urlopen(base + probe_path, timeout=2).read()
                up = True
                break
            except urllib.error.HTTPError:
                up = True  # it answered
                break
            except OSError:
                time.sleep(0.2)
        if up:
            _running[base] = process
            try:
                yield base
            finally:
                _running.pop(base, None)
                _stop(process)
            return
        _stop(process)
        if "address already in use" not in log_path.read_text(errors="replace").lower():
            raise RuntimeError(f"serve.sh did not start; its log:\n{log_path.read_text(errors='replace')[-4000:]}")
    raise RuntimeError("serve.sh found no free port in 3 attempts")
