"""A webhook trigger served by the live server, its turn run by a real Celery worker process
(loopback Redis, the test database): the POST is answered 202 at once and the worker runs
the trigger's flow."""
import json
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from django.conf import settings

from integrations.triggers.tests.test_webhook_trigger import hook_bot
from runtime import triggers
from runtime.models import Message
from runtime.tests.bots import create_bot
from studio.celery import app

from .test_celery_worker import PROJECT_DIR, _worker_env


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_flow_of_a_signed_webhook(live_server, settings, tmp_path):
    assert settings.REDIS_URL, "this test needs REDIS_URL (the loopback Redis)"
    queue = f"flowstudio-test-{uuid.uuid4().hex}"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.FLOWSTUDIO_CHANNELS_CELERY_QUEUE = queue
    bot = create_bot(hook_bot())
    secret = triggers.webhook_secret(bot, "main", "paid")
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "studio", "worker", "--pool=solo", "-c", "1",
             "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
            cwd=PROJECT_DIR, env=_worker_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        body = json.dumps({"order": {"id": 9}, "state": "packed"}).encode()
        answer = httpx.post(live_server.url + triggers.webhook_path(bot, "main", "paid"), content=body, timeout=10,
                            headers={"Content-Type": "application/json",
                                     "X-Flowstudio-Signature": triggers.signature(secret, body)})
        assert answer.status_code == 202, answer.text
        conversation_id = answer.json()["conversationId"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and worker.poll() is None:
            texts = list(Message.objects.filter(conversation__external_id=conversation_id, direction="outgoing")
                         .values_list("payload__text", flat=True))
            if texts:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"the worker did not run the turn; its log:\n{log_path.read_text()[-4000:]}")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
    assert texts == ["Order 9 is packed"]
    assert "process_conversation" in log_path.read_text()
