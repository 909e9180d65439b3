"""/healthz, /readyz and /metrics through the ASGI application as a server runs it, the
request id on answers and log lines, and JSON logs."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from integrations.chat_api.tests import asgi_client
from integrations.chat_api.tests.conftest import ChatApi, make_bot
from integrations.chat_api.tests.server import celery_worker
from runtime import health

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def get(path, **headers):
    status, answer_headers, body = asgi_client.request("GET", path, headers=headers)
    return status, answer_headers, body


@pytest.fixture(autouse=True)
def _close_loop_pools():
    yield
    asgi_client.close_pools()


def _forget_heartbeat():
    health._redis().delete(health.heartbeat_key())


def test_healthz_answers_whatever_the_host_header():
    # A probe from the orchestrator comes with the pod's address, not an ALLOWED_HOSTS name.
    status, _, body = get("/healthz", host="10.1.2.3:8000")
    assert (status, json.loads(body)) == (200, {"status": "ok"})


def test_readyz_is_503_naming_what_failed_until_a_worker_is_seen(tmp_path):
    _forget_heartbeat()
    status, _, body = get("/readyz")
    answer = json.loads(body)
    assert status == 503 and answer["status"] == "unavailable"
    assert answer["checks"]["database"] == "ok" and answer["checks"]["redis"] == "ok"
    assert answer["checks"]["worker"] == "no Celery worker seen in the last 60 s"

    with celery_worker(tmp_path):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and health.worker_problem():
            time.sleep(0.2)
        status, _, body = get("/readyz")
    assert (status, json.loads(body)["status"]) == (200, "ok"), (tmp_path / "worker.log").read_text()[-2000:]


def test_readyz_names_an_unreachable_redis(settings):
    health.record_heartbeat("test")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    status, _, body = get("/readyz")
    checks = json.loads(body)["checks"]
    assert status == 503
    assert checks["redis"] == "unreachable: ConnectionError" and checks["database"] == "ok"


def test_metrics_count_turns_by_channel_and_the_events_waiting():
    def turns_of(text):
        for line in text.splitlines():
            if line.startswith('flowstudio_turns_total{channel="chat_api",outcome="processed"}'):
                return float(line.split()[-1])
        return 0.0

    status, headers, body = get("/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    before = turns_of(body.decode())
    chat = ChatApi(make_bot()[1])
    _, key = chat.user()
    conversation_id = chat.conversation(key)
    for text in ("one", "two", "three"):
        assert chat.say(key, conversation_id, text)[0] == 201
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and turns_of(get("/metrics")[2].decode()) < before + 3:
        time.sleep(0.1)
    text = get("/metrics")[2].decode()
    assert turns_of(text) == before + 3
    assert 'flowstudio_turn_seconds_count{channel="chat_api"}' in text
    assert "flowstudio_events_waiting 0.0" in text
    for name in ("flowstudio_websocket_connections", "flowstudio_errors_total", "flowstudio_llm_calls_total",
                 "flowstudio_queue_depth"):
        assert f"# TYPE {name.removesuffix('_total')}" in text


def test_metrics_can_require_a_token(settings):
    settings.FLOWSTUDIO_METRICS_TOKEN = "metrics-token-1"
    assert get("/metrics")[0] == 401
    assert get("/metrics", authorization="Bearer wrong")[0] == 401
    assert get("/metrics", authorization="Bearer metrics-token-1")[0] == 200


def test_every_answer_carries_a_request_id():
    _, headers, _ = get("/healthz")
    assert len(headers["x-request-id"]) == 32
    _, headers, _ = get("/accounts/login/", **{"x-request-id": "lb-1234"})
    assert headers["x-request-id"] == "lb-1234"
    _, headers, _ = get("/healthz", **{"x-request-id": "bad id\r\nX-Evil: 1"})
    assert headers["x-request-id"] != "bad id\r\nX-Evil: 1" and len(headers["x-request-id"]) == 32


def test_json_logs_carry_the_request_and_conversation_ids():
    script = (
        "import logging, django; django.setup()\n"
        "from runtime import log_context\n"
        "log_context.request_id.set('req-1')\n"
        "with log_context.conversation(42):\n"
        "    logging.getLogger('runtime.turns').warning('turn %s failed', 7)\n"
        "logging.getLogger('x').error('outside')\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "studio.settings", "FLOWSTUDIO_JSON_LOGS": "true"}
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert [(l["level"], l["logger"], l["message"], l["request_id"], l["conversation_id"]) for l in lines] == [
        ("WARNING", "runtime.turns", "turn 7 failed", "req-1", "42"),
        ("ERROR", "x", "outside", "req-1", None)], run.stderr
    assert all("time" in line for line in lines)
