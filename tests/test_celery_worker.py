"""One integration test through a real Celery worker process on the loopback Redis: the
beat task `fire_due_timeouts`, run by the worker against the test database, fires a due
inactivity timeout and the timeout flow's message is stored."""
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from runtime import turns
from runtime.models import Conversation, Message
from runtime.tests.bots import create_bot, echo_bot
from studio.celery import app

PROJECT_DIR = Path(__file__).resolve().parent.parent
TIMEOUT_TEXT = "Are you still there? Starting over."


def _worker_env() -> dict:
    db = connection.settings_dict
    # The worker is not a test process: point its DATABASE_URL straight at the test database.
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_SETTINGS_MODULE": "studio.settings",
    }


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_fires_a_due_timeout(tmp_path):
    assert settings.REDIS_URL, "this test needs REDIS_URL (the loopback Redis)"
    bot = create_bot(echo_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    turns.send_user_message(conversation, "hi")
    Conversation.objects.filter(pk=conversation.pk).update(timeout_at=timezone.now() - timedelta(seconds=5))

    # A queue of our own, so a worker started by a parallel test run cannot take our task
    # (it would look at another database).
    queue = f"flowstudio-test-{uuid.uuid4().hex}"
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "studio", "worker", "--pool=solo", "-c", "1",
             "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
            cwd=PROJECT_DIR, env=_worker_env(), stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        # send_task always goes through the broker, even if this process runs tasks eagerly.
        app.send_task("runtime.tasks.fire_due_timeouts", queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and worker.poll() is None:
            if Message.objects.filter(conversation=conversation, direction="outgoing",
                                      payload__text=TIMEOUT_TEXT).exists():
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the worker did not fire the timeout; its log:\n{log_path.read_text()[-4000:]}")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)

    conversation.refresh_from_db()
    assert conversation.timeout_at is None
    assert not conversation.state.get("frames")
    texts = [m.payload.get("text") for m in
             Message.objects.filter(conversation=conversation, direction="outgoing").order_by("seq")]
    assert texts == ["got hi", TIMEOUT_TEXT]
