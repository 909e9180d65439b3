"""Replies to the channel's API on a local server: retried on 429, 5xx and no answer,
not retried on another 4xx (recorded as a DeliveryFailure), in seq order per conversation
even when senders race, and a 429's Retry-After honoured by a real Celery worker."""
import json
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager

import pytest

from integrations.chat_api.tests.server import PROJECT_DIR, server_env, stop_process
from integrations.messaging import sending, services, tasks
from integrations.messaging.models import DeliveryFailure
from runtime.models import Conversation
from runtime.tests.bots import create_bot
from runtime.tests.receiver import receiver

from .bots import pizza_bot
from .channels import DRIVERS, WebhookDriver
from .conftest import wait_for, wait_for_replies


@contextmanager
def channels_worker(log_dir, **env):
    """A Celery worker consuming only a queue of its own, which the channels' turns and
    replies go to (FLOWSTUDIO_CHANNELS_CELERY_QUEUE, in the worker and in this process)."""
    queue = f"flowstudio-test-{uuid.uuid4().hex}"
    with open(log_dir / "worker.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "studio", "worker", "--pool=solo", "-c", "1", "-Q", queue,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
            cwd=PROJECT_DIR, env=server_env(FLOWSTUDIO_CHANNELS_CELERY_QUEUE=queue, **env), stdout=log,
            stderr=subprocess.STDOUT)
    try:
        yield queue
    finally:
        stop_process(process)


@pytest.fixture(autouse=True)
def _eager_retries_run_in_place():
    # With eager propagation (the project's setting) Celery raises a retry's retry out of
    # apply(); off, each retry runs again at once, as a worker would run it later.
    conf = tasks.deliver.app.conf
    before = conf.task_eager_propagates
    conf.task_eager_propagates = False
    yield
    conf.task_eager_propagates = before


def _installed(kind, client, api):
    driver = DRIVERS[kind](client)
    driver.bot = create_bot(pizza_bot())
    driver.install(driver.bot, api)
    return driver


def _texts(driver, api):
    return [reply[1] for reply in driver.replies(api)]


@pytest.mark.parametrize("kind", sorted(DRIVERS))
@pytest.mark.parametrize("first_answer", [
    (429, {"Retry-After": "0", "Content-Type": "application/json"},
     b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 0","parameters":{"retry_after":0}}'),
    (500, {}, b"down"),
    (502, {}, b""),
])
def test_a_reply_the_channel_cannot_take_now_is_retried_and_order_is_kept(kind, first_answer, local_channels, client):
    ok = DRIVERS[kind].ok_answer
    # Telegram's setWebhook takes the first answer when the channel is saved.
    answers = ([ok] if kind == "telegram" else []) + [first_answer, ok]
    with receiver(*answers) as api:
        driver = _installed(kind, client, api)
        driver.say("two")
        wait_for_replies(driver, api, 4)
    assert _texts(driver, api) == ["first", "first", "second", "third"]
    assert not DeliveryFailure.objects.exists()


@pytest.mark.parametrize("kind", sorted(DRIVERS))
def test_a_reply_the_channel_refuses_is_recorded_not_retried_and_the_next_ones_go(kind, local_channels, client):
    ok = DRIVERS[kind].ok_answer
    refused = (400, {"Content-Type": "application/json"},
               b'{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}')
    answers = ([ok] if kind == "telegram" else []) + [refused, ok]
    with receiver(*answers) as api:
        driver = _installed(kind, client, api)
        driver.say("two")
        wait_for_replies(driver, api, 3)
        time.sleep(0.3)  # a retry would come now
    assert _texts(driver, api) == ["first", "second", "third"]
    [failure] = DeliveryFailure.objects.all()
    assert failure.status_code == 400 and failure.message.payload == {"text": "first"}
    assert "400" in failure.error and failure.attempts == 1


def test_slack_ok_false_is_a_refusal(local_channels, client):
    refused = (200, {"Content-Type": "application/json"}, b'{"ok":false,"error":"channel_not_found"}')
    with receiver(refused, DRIVERS["slack"].ok_answer) as api:
        driver = _installed("slack", client, api)
        driver.say("hi")
        wait_for(lambda: DeliveryFailure.objects.exists(), what="a recorded failure")
    assert "channel_not_found" in DeliveryFailure.objects.get().error
    assert len(driver.sends(api)) == 1


def test_giving_up_after_every_retry_is_recorded(local_channels, client):
    with receiver((503, {}, b"")) as api:
        driver = _installed("webhook", client, api)
        driver.say("hi")
        wait_for(lambda: DeliveryFailure.objects.exists(), what="a recorded failure")
    assert len(driver.sends(api)) == 1 + tasks.MAX_RETRIES
    failure = DeliveryFailure.objects.get()
    assert failure.error.startswith(f"gave up after {1 + tasks.MAX_RETRIES} attempts") and failure.status_code == 503


def test_without_a_worker_and_with_the_projects_eager_propagation_a_failing_reply_is_recorded(local_channels,
                                                                                               client):
    tasks.deliver.app.conf.task_eager_propagates = True  # the project's setting (the fixture restores it)
    with receiver((503, {}, b"")) as api:
        driver = _installed("webhook", client, api)
        driver.say("two")
        wait_for(lambda: DeliveryFailure.objects.count() == 3, what="three recorded failures")
    assert [f.message.payload["text"] for f in DeliveryFailure.objects.order_by("message__seq")] == \
        ["first", "second", "third"]


@pytest.mark.parametrize("kind", sorted(DRIVERS))
def test_racing_senders_send_each_reply_once_in_order(kind, local_channels, client, monkeypatch):
    # The replies are stored first, then four senders start at once for the conversation.
    monkeypatch.setattr(tasks, "schedule_delivery", lambda pk: None)
    with receiver(DRIVERS[kind].ok_answer) as api:
        driver = _installed(kind, client, api)
        driver.say("two")
        driver.say("two")
        # The acknowledgement stores the updates; a worker (here a thread) makes the conversation.
        conversation = wait_for(lambda: Conversation.objects.filter(bot=driver.bot).first(), what="the conversation")
        wait_for(lambda: conversation.messages.filter(direction="outgoing").count() == 6, what="six replies stored")
        start = threading.Barrier(4)

        def sender():
            start.wait()
            try:
                sending.deliver_pending(conversation.pk)
            finally:
                from django.db import connection

                connection.close()

        threads = [threading.Thread(target=sender) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert _texts(driver, api) == ["first", "second", "third"] * 2
    if kind == "webhook":  # the one channel whose requests carry the seq
        bodies = [json.loads(r[3]) for r in driver.sends(api)]
        assert [b["seq"] for b in bodies] == sorted(b["seq"] for b in bodies)


def test_a_celery_worker_runs_the_turn_and_honours_retry_after(tmp_path, transactional_db, settings, client):
    """A real worker: the turn runs there (the request only stored the update), the
    channel's 429 with Retry-After: 3 makes it wait at least 3 s, then the reply goes."""
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    stamps = []
    with receiver((429, {"Retry-After": "3"}, b""), WebhookDriver.ok_answer) as api:
        driver = _installed("webhook", client, api)
        with channels_worker(tmp_path, FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS="127.0.0.1") as queue:
            settings.FLOWSTUDIO_CHANNELS_CELERY_QUEUE = queue
            started = time.monotonic()
            assert driver.say("hi").status_code == 200
            acknowledged = time.monotonic() - started
            deadline = time.monotonic() + 60
            while len(api.requests) < 2 and time.monotonic() < deadline:
                if len(api.requests) > len(stamps):
                    stamps.append(time.monotonic())
                time.sleep(0.05)
            stamps.append(time.monotonic())
            log = (tmp_path / "worker.log").read_text()
    assert len(api.requests) == 2, log[-3000:]
    assert stamps[1] - stamps[0] >= 2.9, stamps
    assert [json.loads(r[3])["message"]["text"] for r in api.requests] == ["What is your name?"] * 2
    assert acknowledged < stamps[0] - started  # answered before the turn's reply was even tried
    assert services.summary(driver.channel)["failures"] == 0
