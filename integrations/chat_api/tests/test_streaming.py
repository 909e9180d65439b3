"""Streamed AI answers and the user's stop on the Chat API (docs/chat-api.md, "Streamed
answers and stop"), over real HTTP: the production server (two workers, Redis), a published
bot with a streaming AI Generate Text card, the workspace's provider answered by the
scripted LLM server, and a `listen` stream read as a client reads it."""
import threading
import time

import pytest

from flows import services as flow_services
from integrations.llm import scripted_server as s
from integrations.llm.services import save_provider
from integrations.llm.testing import scripted_llm_server  # noqa: F401
from runtime.models import Message

from .conftest import make_bot
from .server import live_server
from .test_live_server import Listener, _api

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = "one two three four five"
LONG = " ".join(f"word{i}" for i in range(60))


def streaming_bot(server):
    save_provider(flow_services.default_workspace(), {
        "name": "acme", "base_url": server.url, "api_key": "k", "default_model": "Fast", "max_retries": 0,
        "timeout_seconds": 10, "models": [{"id": "scripted-fast", "label": "Fast"}]})
    return make_bot({
        "format": "flowstudio.bot/1", "name": "Streamer",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "talk"},
            {"id": "talk", "kind": "standard", "cards": [
                {"id": "answer", "type": "ai_generate_text", "prompt": "{{event.preview}}"},
                {"id": "again", "type": "wait"}], "next": "talk"},
        ]}],
    })


def serve(tmp_path):
    # The server's processes call the scripted LLM server on the loopback.
    return live_server(tmp_path, FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS="127.0.0.1")


def start(base, webhook_id):
    key = _api(base, webhook_id, "POST", "/users", {"id": "ada"})[1]["key"]
    conversation_id = _api(base, webhook_id, "POST", "/conversations", {}, key=key)[1]["conversation"]["id"]
    return key, conversation_id


def say(base, webhook_id, key, conversation_id, text):
    return _api(base, webhook_id, "POST", "/messages",
                {"conversationId": conversation_id, "payload": {"type": "text", "text": text}}, key=key)


def drain(listener, until, timeout=20):
    """Signals up to and including the first for which `until` holds."""
    got = []
    while not got or not until(got[-1]):
        got.append(listener.signals.get(timeout=timeout))
    return got


def bot_message(signal):
    return signal["type"] == "message_created" and signal["data"]["isBot"]


def test_a_listener_gets_the_answer_piece_by_piece_in_order_then_the_message_once(tmp_path, scripted_llm_server):
    scripted_llm_server.script([s.text(ANSWER, token_delay=0.05), s.text("second answer", token_delay=0.05)])
    _, row = streaming_bot(scripted_llm_server)
    with serve(tmp_path) as base:
        key, conversation_id = start(base, row.webhook_id)
        listener = Listener(base, row.webhook_id, key, conversation_id)
        assert listener.status == 200
        try:
            status, sent = say(base, row.webhook_id, key, conversation_id, "count")
            assert status == 201, sent
            signals = drain(listener, bot_message)

            deltas = [sig["data"] for sig in signals if sig["type"] == "message_delta"]
            # In order, none twice; a piece still queued when the message has gone out is
            # dropped (the message replaces them).
            assert len(deltas) >= 3, signals
            assert ANSWER.startswith("".join(d["delta"] for d in deltas))
            assert [d["index"] for d in deltas] == list(range(len(deltas)))
            assert [d["offset"] for d in deltas] == [sum(len(p["delta"]) for p in deltas[:i])
                                                     for i in range(len(deltas))]
            assert {(d["streamId"], d["conversationId"], d["userId"]) for d in deltas} == {
                ("answer:0", conversation_id, f"bot:{row.bot_id}")}
            assert signals[-1]["data"]["payload"] == {"type": "text", "text": ANSWER, "streamId": "answer:0"}

            # The next answer of the same card streams again, under the same streamId.
            status, _ = say(base, row.webhook_id, key, conversation_id, "again")
            assert status == 201
            second = drain(listener, bot_message)
            assert "second answer".startswith("".join(
                sig["data"]["delta"] for sig in second if sig["type"] == "message_delta"))
            assert [sig["data"]["index"] for sig in second if sig["type"] == "message_delta"][:1] == [0]
            assert second[-1]["data"]["payload"]["text"] == "second answer"

            # The message once: nothing more comes of either answer.
            time.sleep(0.5)
            assert listener.signals.empty()
        finally:
            listener.close()
    # Nothing of the pieces is stored: the question and the answer, twice.
    assert Message.objects.filter(conversation__external_id=conversation_id).count() == 4


def test_a_participant_stops_the_answer_in_progress_over_the_chat_api(tmp_path, scripted_llm_server):
    scripted_llm_server.script([s.text(LONG, token_delay=0.1), s.text("fresh answer")])
    _, row = streaming_bot(scripted_llm_server)
    with serve(tmp_path) as base:
        key, conversation_id = start(base, row.webhook_id)
        listener = Listener(base, row.webhook_id, key, conversation_id)
        try:
            # The request waits a while for the turn it caused: send it aside.
            sending = threading.Thread(target=say, args=(base, row.webhook_id, key, conversation_id, "tell me a lot"))
            sending.start()
            before = drain(listener, lambda sig: sig["type"] == "message_delta")
            question = next(sig["data"] for sig in before if sig["type"] == "message_created")

            # Another user may not stop it.
            other = _api(base, row.webhook_id, "POST", "/users", {"id": "eve"})[1]["key"]
            status, body = _api(base, row.webhook_id, "POST", f"/conversations/{conversation_id}/cancel", key=other)
            assert status == 403, body

            status, body = _api(base, row.webhook_id, "POST", f"/conversations/{conversation_id}/cancel", key=key)
            assert (status, body) == (202, {"conversationId": conversation_id, "cancelled": True})
            signals = drain(listener, lambda sig: sig["type"] == "message_cancelled")
            sending.join(timeout=20)

            assert signals[-1]["data"] == {"conversationId": conversation_id, "messageId": question["id"]}
            assert not [sig for sig in before + signals if bot_message(sig)]
            pieces = "".join(sig["data"]["delta"] for sig in before + signals if sig["type"] == "message_delta")
            assert 0 < len(pieces) < len(LONG)

            # The question is kept, marked; clients reading the transcript see it.
            status, body = _api(base, row.webhook_id, "GET", f"/messages/{question['id']}", key=key)
            assert body["message"]["metadata"] == {"cancelled": True}

            # The conversation goes on.
            status, _ = say(base, row.webhook_id, key, conversation_id, "short please")
            after = drain(listener, bot_message)
            assert after[-1]["data"]["payload"]["text"] == "fresh answer"
            # Nothing of the stopped answer comes after its stop.
            assert "fresh answer".startswith("".join(
                sig["data"]["delta"] for sig in after if sig["type"] == "message_delta"))
            assert not [sig for sig in after if sig["type"] == "message_cancelled"]
        finally:
            listener.close()
    rows = Message.objects.filter(conversation__external_id=conversation_id).order_by("seq")
    assert [(m.payload.get("text"), (m.metadata or {}).get("cancelled")) for m in rows] == [
        ("tell me a lot", True), ("short please", None), ("fresh answer", None)]

