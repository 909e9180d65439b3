"""Two real Celery worker processes (loopback Redis, the test database) share six ticks of
the beat task `fire_due_schedules` within one due time: the schedule trigger's flow runs
once, the other ticks find the due time claimed."""
import re
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from runtime.models import Message, ScheduleClaim
from runtime.tests.bots import create_bot
from runtime.tests.test_schedule_triggers import schedule_bot
from studio.celery import app

from integrations.chat_api.tests.server import PROJECT_DIR, server_env, stop_process

DONE = re.compile(r"fire_due_schedules\[[^\]]+\] succeeded in [0-9.]+s: (\d+)")


@pytest.fixture(autouse=True)
def _pools_closed():
    yield
    from runtime import pg

    pg.close_all()


@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_at_once_run_a_due_time_once(tmp_path):
    assert settings.REDIS_URL, "this test needs REDIS_URL (the loopback Redis)"
    # Due this minute, next in an hour: every tick of this test sees the same due time.
    bot = create_bot(schedule_bot(f"{timezone.now().minute} * * * *"))
    queue = f"flowstudio-test-{uuid.uuid4().hex}"
    workers, logs = [], []
    for index in range(2):
        log_path = tmp_path / f"worker{index}.log"
        logs.append(log_path)
        with open(log_path, "wb") as log:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "studio", "worker", "--pool=solo", "-c", "1",
                 "-n", f"schedule{index}-{queue}@%h", "-Q", queue, "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "-l", "info"],
                cwd=PROJECT_DIR, env=server_env(), stdout=log, stderr=subprocess.STDOUT))
    try:
        for _ in range(6):
            app.send_task("runtime.tasks.fire_due_schedules", queue=queue)
        # No result backend: each worker logs "Task ...fire_due_schedules[id] succeeded in 0.1s: N".
        deadline = time.monotonic() + 120
        while True:
            started = [int(m) for path in logs for m in DONE.findall(path.read_text())]
            if len(started) >= 6:
                break
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                pytest.fail("the workers did not run the ticks; their logs:\n"
                            + "\n".join(path.read_text()[-3000:] for path in logs))
            time.sleep(0.5)
    finally:
        for worker in workers:
            stop_process(worker)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
    assert sorted(started) == [0, 0, 0, 0, 0, 1]
    assert ScheduleClaim.objects.filter(bot=bot).count() == 1
    texts = list(Message.objects.filter(conversation__bot=bot, direction="outgoing").values_list("payload__text", flat=True))
    assert len(texts) == 1 and texts[0].startswith("report for ")
