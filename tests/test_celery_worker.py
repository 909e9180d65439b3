"""One integration test through a real Celery worker process on the loopback Redis: the
beat task `fire_due_timeouts`, run by the worker against the test database, fires a due
inactivity timeout and the timeout flow's message is stored."""
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from integrations.chat_api.tests.server import celery_worker
from runtime import turns
from runtime.models import Conversation, Message
from runtime.tests.bots import create_bot, echo_bot
from studio.celery import app

TIMEOUT_TEXT = "Are you still there? Starting over."


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_fires_a_due_timeout(tmp_path):
    assert settings.REDIS_URL, "this test needs REDIS_URL (the loopback Redis)"
    bot = create_bot(echo_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    turns.send_user_message(conversation, "hi")
    Conversation.objects.filter(pk=conversation.pk).update(timeout_at=timezone.now() - timedelta(seconds=5))

    # The worker consumes a queue of its own, so a worker started by a parallel test run
    # cannot take our task (it would look at another database).
    with celery_worker(tmp_path) as queue:
        # send_task always goes through the broker, even if this process runs tasks eagerly.
        app.send_task("runtime.tasks.fire_due_timeouts", queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if Message.objects.filter(conversation=conversation, direction="outgoing",
                                      payload__text=TIMEOUT_TEXT).exists():
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the worker did not fire the timeout; its log:\n{(tmp_path / 'worker.log').read_text()[-4000:]}")

    conversation.refresh_from_db()
    assert conversation.timeout_at is None
    assert not conversation.state.get("frames")
    texts = [m.payload.get("text") for m in
             Message.objects.filter(conversation=conversation, direction="outgoing").order_by("seq")]
    assert texts == ["got hi", TIMEOUT_TEXT]
