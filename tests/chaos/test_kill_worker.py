"""Chaos: `kill -9` of the Celery worker under load loses no reply (issue 14, item 4).

With CHAT_API_TURNS=celery the Chat API acknowledges a message and a worker runs its turn.
Under the closed-loop load of test_kill_server.py the worker is killed with SIGKILL mid-load:
the task it was running is neither finished nor acknowledged (Redis hands it out again only
after its visibility timeout, an hour), the rest stay queued. A new worker drains the queue
and runs the sweep (the beat task, lease 1 s here) for what no queued task covers. Every
acknowledged message then has exactly one reply, in order, none duplicated."""
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from flows import services as flow_services
from integrations.chat_api import services as chat_api
from integrations.chat_api.tests.server import PROJECT_DIR, server_env
from integrations.chat_api.tests.test_live_server import _api
from runtime.models import Event, Message
from runtime.tests.live_server import serve
from studio.celery import app

from .test_kill_server import _slow_echo_bot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

CLIENTS = 4
MESSAGES_EACH = 13


def _worker(log_path, queue):
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "studio", "worker", "--pool=solo", "-Q", queue,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
            cwd=PROJECT_DIR, env=server_env(FLOWSTUDIO_TURN_LEASE_SECONDS="1"), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)


def _received(bot) -> int:
    return Event.objects.filter(conversation__bot=bot, status="received").count()


def test_kill_9_of_the_worker_mid_load_loses_no_reply(tmp_path):
    bot = flow_services.import_bot(_slow_echo_bot(), workspace=flow_services.default_workspace())
    flow_services.publish(bot)
    webhook_id = chat_api.update_chat_api(bot, enabled=True).webhook_id
    queue = f"flowstudio-chaos-{uuid.uuid4().hex}"
    acknowledged: dict[str, list[str]] = {}
    worker = _worker(tmp_path / "worker-1.log", queue)
    restarted = None
    try:
        env = {"CHAT_API_TURNS": "celery", "CHAT_API_CELERY_QUEUE": queue, "CHAT_API_TURN_WAIT_SECONDS": "0",
               "FLOWSTUDIO_STARTUP_SWEEP": "false"}
        with serve(tmp_path / "web", env=env) as base:
            clients = []
            for c in range(CLIENTS):
                key = _api(base, webhook_id, "POST", "/users", {})[1]["key"]
                conversation = _api(base, webhook_id, "POST", "/conversations", {}, key=key)[1]["conversation"]["id"]
                acknowledged[conversation] = []
                clients.append((c, key, conversation))

            def client(c, key, conversation):
                for n in range(MESSAGES_EACH):
                    text = f"c{c}-m{n}"
                    status, body = _api(base, webhook_id, "POST", "/messages", {
                        "conversationId": conversation, "payload": {"type": "text", "text": text}}, key=key)
                    assert status == 201, body  # the web server stays up: every message is acknowledged
                    acknowledged[conversation].append(text)

            threads = [threading.Thread(target=client, args=args) for args in clients]
            for thread in threads:
                thread.start()
            # Mid-load: the worker has answered some messages, others wait behind it.
            deadline = time.monotonic() + 30
            while not Message.objects.filter(conversation__bot=bot, direction="outgoing").count() >= 8:
                assert time.monotonic() < deadline, "the worker answered nothing"
                time.sleep(0.05)
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            for thread in threads:
                thread.join(timeout=60)
            sent = sum(len(texts) for texts in acknowledged.values())
            waiting_at_kill = _received(bot)
            assert waiting_at_kill > 0

            restarted = _worker(tmp_path / "worker-2.log", queue)
            app.send_task("runtime.tasks.sweep_stranded_events", queue=queue, countdown=2)
            deadline = time.monotonic() + 40
            while _received(bot):
                assert time.monotonic() < deadline, f"{_received(bot)} acknowledged messages still unanswered"
                time.sleep(0.2)
    finally:
        for process in (worker, restarted):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)

    swept = (tmp_path / "worker-2.log").read_text(errors="replace").count("stranded event(s)")
    print(f"\nchaos (worker): {sent} acknowledged, {waiting_at_kill} waiting when the worker was killed, "
          f"{swept} conversation(s) recovered by the sweep, the rest by the queued tasks")
    assert not Event.objects.filter(conversation__bot=bot).exclude(status="processed").exists()
    for conversation, texts in acknowledged.items():
        incoming = list(Message.objects.filter(conversation__external_id=conversation, direction="incoming")
                        .order_by("seq").values_list("payload__text", flat=True))
        replies = list(Message.objects.filter(conversation__external_id=conversation, direction="outgoing")
                       .order_by("seq").values_list("payload__text", flat=True))
        assert incoming == texts
        assert replies == [f"re: {text}" for text in texts], (conversation, replies)
