"""Chaos: `kill -9` of the server under load loses no reply (issue 14, item 4).

A bounded closed-loop load (a few Chat API clients, one conversation each, ~50 messages in
all, each client sending its next message as soon as the last one is acknowledged) runs
against the production server (scripts/serve.sh web). Mid-load the server and its workers
are killed with SIGKILL; acknowledged messages whose turns had not run stay `received`. A
new server starts, and its start-up sweep (runtime/recovery.py; lease shortened to 1 s here)
answers them. Every acknowledged (201) message then has exactly one reply, in order, and no
reply is duplicated."""
import threading
import time
import urllib.error
from collections import Counter

import pytest

from flows import services as flow_services
from integrations.chat_api import services as chat_api
from integrations.chat_api.tests.test_live_server import _api
from runtime.models import Event, Message
from runtime.tests.bots import _bot, _flow
from runtime.tests.live_server import kill_hard, serve

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

CLIENTS = 4
MESSAGES_EACH = 13  # 52 in all
KILL_AFTER_ACKS = 30
TURN_MS = 150  # slow enough that a backlog builds behind the acknowledgements


def _slow_echo_bot():
    """Answers every message with its text, after TURN_MS of work."""
    return _bot("Chaos echo", [_flow("main", [
        {"id": "start", "kind": "start", "next": "loop"},
        {"id": "loop", "kind": "standard", "cards": [
            {"id": "work", "type": "code", "code": f"const t0 = Date.now(); while (Date.now() - t0 < {TURN_MS}) {{}}"},
            {"id": "reply", "type": "text", "text": "re: {{event.preview}}"},
            {"id": "again", "type": "wait"},
        ], "next": "loop"},
    ])], settings={"inactivityTimeoutMinutes": 0})


def _server_env(**extra):
    # Acknowledge at once (no wait for the turn), so turns lag behind the acknowledgements.
    return {"CHAT_API_TURN_WAIT_SECONDS": "0", "FLOWSTUDIO_TURN_LEASE_SECONDS": "1", **extra}


def test_kill_9_of_the_server_mid_load_loses_no_reply(tmp_path):
    bot = flow_services.import_bot(_slow_echo_bot(), workspace=flow_services.default_workspace())
    flow_services.publish(bot)
    webhook_id = chat_api.update_chat_api(bot, enabled=True).webhook_id
    acknowledged: dict[str, list[str]] = {}
    acks, lock, crashed = Counter(), threading.Lock(), threading.Event()

    # The first server: no start-up sweep, so what is answered after the crash is the next one's.
    with serve(tmp_path / "first", env=_server_env(FLOWSTUDIO_STARTUP_SWEEP="false")) as base:
        clients = []
        for c in range(CLIENTS):
            key = _api(base, webhook_id, "POST", "/users", {})[1]["key"]
            conversation = _api(base, webhook_id, "POST", "/conversations", {}, key=key)[1]["conversation"]["id"]
            acknowledged[conversation] = []
            clients.append((c, key, conversation))

        def client(c, key, conversation):
            for n in range(MESSAGES_EACH):
                text = f"c{c}-m{n}"
                try:
                    status, _ = _api(base, webhook_id, "POST", "/messages", {
                        "conversationId": conversation, "payload": {"type": "text", "text": text}}, key=key)
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    return  # the server is gone: this one was never acknowledged
                if status != 201:
                    assert crashed.is_set(), status
                    return
                acknowledged[conversation].append(text)
                with lock:
                    acks["total"] += 1

        threads = [threading.Thread(target=client, args=args) for args in clients]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while acks["total"] < KILL_AFTER_ACKS and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        crashed.set()
        kill_hard(base)
        killed_at = time.monotonic() - started
        for thread in threads:
            thread.join(timeout=30)

    sent = sum(len(texts) for texts in acknowledged.values())
    stranded = Event.objects.filter(conversation__bot=bot, status="received").count()
    # Without this the test would prove nothing: the crash left acknowledged messages unanswered.
    assert stranded > 0, "the kill came after every turn had run"

    with serve(tmp_path / "second", env=_server_env(FLOWSTUDIO_STARTUP_SWEEP="true")):
        deadline = time.monotonic() + 30
        while Event.objects.filter(conversation__bot=bot, status="received").exists():
            assert time.monotonic() < deadline, "the restarted server did not answer the stranded events"
            time.sleep(0.2)
        recovered_in = time.monotonic() - deadline + 30

    print(f"\nchaos: {sent} acknowledged, server killed at {killed_at:.1f} s with {stranded} stranded; "
          f"answered {recovered_in:.1f} s after the restart")
    assert not Event.objects.filter(conversation__bot=bot).exclude(status="processed").exists()
    for conversation, texts in acknowledged.items():
        incoming = list(Message.objects.filter(conversation__external_id=conversation, direction="incoming")
                        .order_by("seq").values_list("payload__text", flat=True))
        replies = list(Message.objects.filter(conversation__external_id=conversation, direction="outgoing")
                       .order_by("seq").values_list("payload__text", flat=True))
        # Every acknowledged message is stored; one sent as the server died may be stored too.
        assert incoming[:len(texts)] == texts and len(incoming) - len(texts) <= 1, (texts, incoming)
        # One reply per stored message, in their order, none twice.
        assert replies == [f"re: {text}" for text in incoming], (conversation, incoming, replies)
