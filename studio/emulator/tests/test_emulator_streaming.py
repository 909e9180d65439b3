"""The emulator shows a streamed AI answer as it is written and can stop it (docs/emulator.md,
docs/ai.md "Streaming and cancel"): the emulator's websocket, the draft of a bot whose
workspace has a provider, the scripted LLM server over real HTTP."""
import pytest
from channels.db import database_sync_to_async

from integrations.llm import scripted_server as s
from integrations.llm.services import save_provider
from integrations.llm.testing import scripted_llm_server  # noqa: F401
from runtime.models import Message

from .test_emulator_protocol import _private_channel_layer, _setup, communicator, hello, is_state, receive_until  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

AI_BOT = {
    "format": "flowstudio.bot/1", "name": "Streamer",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "talk"},
        {"id": "talk", "kind": "standard", "cards": [
            {"id": "answer", "type": "ai_generate_text", "prompt": "{{event.preview}}"},
            {"id": "again", "type": "wait"}], "next": "talk"},
    ]}],
}


def setup(server):
    bot, cookie = _setup(AI_BOT)
    save_provider(bot.workspace, {"name": "acme", "base_url": server.url, "api_key": "k", "default_model": "Fast",
                                  "max_retries": 0, "timeout_seconds": 10,
                                  "models": [{"id": "scripted-fast", "label": "Fast"}]})
    return bot, cookie


async def test_the_emulator_gets_the_pieces_then_the_message_and_a_stop_cancels_the_next_answer(scripted_llm_server):
    long_answer = " ".join(f"w{i}" for i in range(50))
    scripted_llm_server.script([s.text("alpha beta gamma", token_delay=0.05), s.text(long_answer, token_delay=0.1)])
    bot, cookie = await database_sync_to_async(setup)(scripted_llm_server)
    comm = communicator(bot.pk, cookie)
    ready = await hello(comm)
    await receive_until(comm, is_state)

    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "greek"}})
    frames = await receive_until(comm, is_state)
    deltas = [f for f in frames if f["type"] == "delta"]
    assert deltas and "alpha beta gamma".startswith("".join(d["delta"] for d in deltas))
    assert {d["conversationId"] for d in deltas} == {ready["conversationId"]}
    replies = [f for f in frames if f["type"] == "message" and f["message"]["direction"] == "outgoing"]
    assert [r["message"]["payload"] for r in replies] == [{"text": "alpha beta gamma", "streamId": "answer:0"}]
    assert frames.index(replies[0]) > frames.index(deltas[-1])

    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "more"}})
    before = await receive_until(comm, lambda f: f["type"] == "delta")
    asked = next(f["messageSeq"] for f in before if f["type"] == "ack")
    await comm.send_json_to({"type": "cancel", "clientId": "stop"})
    frames = await receive_until(comm, is_state)
    assert next(f for f in frames if f.get("clientId") == "stop")["cancelled"] is True
    assert [f["messageSeq"] for f in frames if f["type"] == "cancelled"] == [asked]
    turn = next(f["turn"] for f in frames if f["type"] == "turn")
    assert turn["eventSeq"] == asked and turn["trace"][0]["type"] == "cancelled"
    assert not [f for f in frames if f["type"] == "message" and f["message"]["direction"] == "outgoing"]
    await comm.disconnect()

    rows = await database_sync_to_async(lambda: list(
        Message.objects.filter(conversation__external_id=ready["conversationId"]).order_by("seq")))()
    assert [(m.direction, (m.metadata or {}).get("cancelled")) for m in rows] == [
        ("incoming", None), ("outgoing", None), ("incoming", True)]
