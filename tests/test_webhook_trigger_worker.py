"""A webhook trigger served by the live server, its turn run by a real Celery worker process
(loopback Redis, the test database): the POST is answered 202 at once and the worker runs
the trigger's flow."""
import json
import time

import httpx
import pytest

from integrations.chat_api.tests.server import celery_worker
from integrations.triggers.tests.test_webhook_trigger import hook_bot
from runtime import triggers
from runtime.models import Message
from runtime.tests.bots import create_bot


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_flow_of_a_signed_webhook(live_server, settings, tmp_path):
    assert settings.REDIS_URL, "this test needs REDIS_URL (the loopback Redis)"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    bot = create_bot(hook_bot())
    secret = triggers.webhook_secret(bot, "main", "paid")
    log_path = tmp_path / "worker.log"
    with celery_worker(tmp_path) as queue:
        settings.FLOWSTUDIO_CHANNELS_CELERY_QUEUE = queue
        body = json.dumps({"order": {"id": 9}, "state": "packed"}).encode()
        answer = httpx.post(live_server.url + triggers.webhook_path(bot, "main", "paid"), content=body, timeout=10,
                            headers={"Content-Type": "application/json",
                                     "X-Flowstudio-Signature": triggers.signature(secret, body)})
        assert answer.status_code == 202, answer.text
        conversation_id = answer.json()["conversationId"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            texts = list(Message.objects.filter(conversation__external_id=conversation_id, direction="outgoing")
                         .values_list("payload__text", flat=True))
            if texts:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"the worker did not run the turn; its log:\n{log_path.read_text()[-4000:]}")
    assert texts == ["Order 9 is packed"]
    assert "process_conversation" in log_path.read_text()
