"""/healthz, /readyz and /metrics: answered by the ASGI front (studio/asgi.py) ahead of
Django's middleware, so a load balancer's or orchestrator's probe works whatever Host header
it sends (ALLOWED_HOSTS is for people's requests) and never touches a session.

- GET /healthz: 200 {"status": "ok"} while the process serves; no database, no Redis.
- GET /readyz: 200 when the database answers with every migration applied, Redis answers
  and a Celery worker was seen recently (runtime/health.py); else 503 with each check's
  result, e.g. {"status": "unavailable", "checks": {"database": "ok", "redis": "ok",
  "worker": "no Celery worker seen in the last 60 s"}}.
- GET /metrics: Prometheus text format, all worker processes added up. With
  FLOWSTUDIO_METRICS_TOKEN set, only for `Authorization: Bearer <token>`.
"""
from __future__ import annotations

import asyncio
import hmac
import json

from django.conf import settings

PATHS = ("/healthz", "/readyz", "/metrics")


async def application(scope, receive, send) -> None:
    path = scope["path"].rstrip("/")
    if scope["method"] not in ("GET", "HEAD"):
        return await _answer(send, 405, {"status": "method not allowed"}, extra=[(b"allow", b"GET, HEAD")])
    if path == "/healthz":
        return await _answer(send, 200, {"status": "ok"})
    if path == "/readyz":
        checks = await asyncio.to_thread(_in_thread, _readiness)
        ready = all(result == "ok" or result.startswith("skipped") for result in checks.values())
        return await _answer(send, 200 if ready else 503, {"status": "ok" if ready else "unavailable",
                                                           "checks": checks})
    if not _metrics_allowed(scope):
        return await _answer(send, 401, {"status": "a bearer token is needed"},
                             extra=[(b"www-authenticate", b"Bearer")])
    body, content_type = await asyncio.to_thread(_in_thread, _metrics)
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


def _in_thread(function):
    from django.db import close_old_connections

    try:
        return function()
    finally:
        close_old_connections()


def _readiness() -> dict:
    from runtime import health

    return health.readiness()


def _metrics_allowed(scope) -> bool:
    token = getattr(settings, "FLOWSTUDIO_METRICS_TOKEN", "")
    if not token:
        return True
    given = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    return hmac.compare_digest(given, f"Bearer {token}")


def _metrics() -> tuple[bytes, str]:
    import os

    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    from runtime import health, metrics

    try:
        metrics.EVENTS_WAITING.set(health.events_waiting())
        for queue, depth in health.queue_depths().items():
            metrics.QUEUE_DEPTH.labels(queue).set(depth)
    except Exception:  # a database or Redis outage shows in /readyz; the counters still answer
        pass
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


async def _answer(send, status: int, body: dict, extra=()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store"), *extra]})
    await send({"type": "http.response.body", "body": data})
