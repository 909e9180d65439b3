"""Streamed AI answers and the user's stop (docs/ai.md, "Streaming and cancel"), through the
whole runtime: a published bot with an AI Generate Text card, the workspace's provider over
real HTTP to the scripted LLM server, the widget's websocket (WebsocketCommunicator, the real
ASGI application and channel layer). The REST API's cancel: tests/api/test_conversation_cancel.py."""
import asyncio
import time

import pytest
from channels.db import database_sync_to_async

from flows import services as flow_services
from integrations.llm import scripted_server as s
from integrations.llm.services import save_provider
from integrations.llm.testing import scripted_llm_server  # noqa: F401
from runtime import delivery, turns
from runtime.models import Conversation, Event, Message

from .helpers import communicator, create_bot, receive_until

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = "one two three four five six"
LONG = " ".join(f"word{i}" for i in range(40))


def ai_bot():
    return {
        "format": "flowstudio.bot/1", "name": "Streamer",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "talk"},
            {"id": "talk", "kind": "standard", "cards": [
                {"id": "answer", "type": "ai_generate_text", "prompt": "{{event.preview}}",
                 "variable": "user.last"},
                {"id": "again", "type": "wait"}], "next": "talk"},
        ]}],
        "variables": [{"scope": "user", "name": "last", "type": "string"}],
    }


def streaming_bot(server):
    save_provider(flow_services.default_workspace(), {
        "name": "acme", "base_url": server.url, "api_key": "k", "default_model": "Fast", "max_retries": 0,
        "timeout_seconds": 10, "models": [{"id": "scripted-fast", "label": "Fast"}]})
    return create_bot(ai_bot())


async def hello(comm):
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "hello"})
    ready = await comm.receive_json_from(timeout=10)
    assert ready["type"] == "ready", ready
    return ready


def typing_off(frame):
    return frame["type"] == "typing" and frame["on"] is False


def stored(conversation_id):
    return list(Message.objects.filter(conversation__external_id=conversation_id).order_by("seq"))


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.asyncio
async def test_the_widget_gets_the_answer_piece_by_piece_in_order_then_the_stored_message_once(scripted_llm_server):
    scripted_llm_server.script([s.text(ANSWER, token_delay=0.05)])
    bot = await database_sync_to_async(streaming_bot)(scripted_llm_server)
    comm = communicator(bot.pk)
    ready = await hello(comm)
    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "count"}})
    frames = await receive_until(comm, typing_off)

    deltas = [f for f in frames if f["type"] == "delta"]
    # In order, none twice. (A piece still queued when the stored message has gone out is
    # dropped by the server: the message replaces the bubble anyway.)
    assert len(deltas) >= 3, frames
    assert ANSWER.startswith("".join(d["delta"] for d in deltas))
    assert [d["index"] for d in deltas] == list(range(len(deltas)))
    assert [d["offset"] for d in deltas] == [sum(len(d["delta"]) for d in deltas[:i]) for i in range(len(deltas))]
    assert {d["streamId"] for d in deltas} == {"answer:0"}
    assert all(d["conversationId"] == ready["conversationId"] for d in deltas)

    replies = [f for f in frames if f["type"] == "message" and f["message"]["direction"] == "outgoing"]
    assert len(replies) == 1
    assert replies[0]["message"]["payload"] == {"text": ANSWER, "streamId": "answer:0"}
    # Every piece comes before the message that replaces it, and moves no cursor.
    assert frames.index(replies[0]) > frames.index(deltas[-1])
    assert all(d["seq"] < replies[0]["seq"] for d in deltas)
    await comm.disconnect()

    rows = await database_sync_to_async(stored)(ready["conversationId"])
    assert [(m.direction, m.payload.get("text")) for m in rows] == [("incoming", "count"), ("outgoing", ANSWER)]


@pytest.mark.asyncio
async def test_stop_on_the_websocket_cancels_the_answer_in_progress(scripted_llm_server):
    scripted_llm_server.script([s.text(LONG, token_delay=0.1), s.text("fresh answer")])
    bot = await database_sync_to_async(streaming_bot)(scripted_llm_server)
    comm = communicator(bot.pk)
    ready = await hello(comm)
    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "tell me a lot"}})
    before = await receive_until(comm, lambda f: f["type"] == "delta")
    user_seq = next(f["messageSeq"] for f in before if f["type"] == "ack")
    await comm.send_json_to({"type": "cancel", "clientId": "stop-1"})
    frames = await receive_until(comm, typing_off)

    ack = next(f for f in frames if f["type"] == "ack" and f.get("clientId") == "stop-1")
    assert ack["cancelled"] is True and ack["eventSeq"] >= user_seq
    cancelled = [f for f in frames if f["type"] == "cancelled"]
    assert cancelled and cancelled[0]["messageSeq"] == user_seq
    assert cancelled[0]["conversationId"] == ready["conversationId"]
    assert not [f for f in before + frames if f["type"] == "message" and f["message"]["direction"] == "outgoing"]
    pieces = "".join(f["delta"] for f in before + frames if f["type"] == "delta")
    assert 0 < len(pieces) < len(LONG)

    rows = await database_sync_to_async(stored)(ready["conversationId"])
    assert [(m.direction, m.payload.get("text"), (m.metadata or {}).get("cancelled")) for m in rows] == [
        ("incoming", "tell me a lot", True)]
    conversation = await database_sync_to_async(Conversation.objects.get)(external_id=ready["conversationId"])
    assert not (conversation.state or {}).get("frames")  # the stopped turn's state was dropped
    user = await database_sync_to_async(lambda: conversation.user)()
    assert "last" not in (user.variables or {})  # and so was its variable
    event = await database_sync_to_async(Event.objects.get)(conversation=conversation, seq=user_seq)
    assert event.status == Event.Status.PROCESSED and event.trace[0]["type"] == "cancelled"

    # The conversation goes on: the next message is answered.
    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "short please"}})
    frames = await receive_until(comm, lambda f: f["type"] == "message" and f["message"]["direction"] == "outgoing")
    assert frames[-1]["message"]["payload"]["text"] == "fresh answer"
    assert not [f for f in frames if f["type"] == "cancelled"]
    await comm.disconnect()


def test_every_piece_is_published_in_order_without_touching_the_database(scripted_llm_server):
    scripted_llm_server.script([s.text(ANSWER, token_delay=0.02)])
    bot = streaming_bot(scripted_llm_server)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"), channel="webchat")
    signals = []
    collect = delivery.subscribe_signals(lambda c, signal: signals.append(signal))
    try:
        outcome = turns.send_user_message(conversation, "count")
    finally:
        delivery.unsubscribe_signals(collect)
    assert [sig["delta"] for sig in signals] == ["one ", "two ", "three ", "four ", "five ", "six"]
    assert [(sig["index"], sig["offset"]) for sig in signals] == [(0, 0), (1, 4), (2, 8), (3, 14), (4, 19), (5, 24)]
    assert {(sig["type"], sig["streamId"], sig["eventId"]) for sig in signals} == {
        ("delta", "answer:0", outcome.event.pk)}
    assert [m.payload for m in outcome.messages] == [{"text": ANSWER, "streamId": "answer:0"}]
    assert conversation.messages.count() == 2  # the question and the one stored answer


def test_a_stop_while_no_answer_runs_changes_nothing(scripted_llm_server):
    scripted_llm_server.script([s.text(ANSWER), s.text("second")])
    bot = streaming_bot(scripted_llm_server)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"), channel="webchat")
    first = turns.send_user_message(conversation, "one")
    turns.cancel(conversation)  # nothing is running: the answer given stays
    second = turns.send_user_message(conversation, "two")  # a later message is not covered
    assert [o["text"] for o in first.outputs] == [ANSWER]
    assert [o["text"] for o in second.outputs] == ["second"]
    assert not Message.objects.filter(conversation=conversation, metadata__cancelled=True).exists()


@pytest.mark.asyncio
async def test_the_http_fallback_waits_through_the_pieces_for_the_stored_answer(scripted_llm_server):
    from django.test import AsyncClient

    from .. import services
    from .helpers import ORIGIN

    scripted_llm_server.script([s.text(ANSWER, token_delay=0.1)])
    bot = await database_sync_to_async(streaming_bot)(scripted_llm_server)
    client = AsyncClient()
    ready = (await client.post(f"/webchat/{bot.pk}/api/session", data="{}", content_type="application/json",
                               headers={"Origin": ORIGIN})).json()["ready"]
    session = await database_sync_to_async(services.resume_session)(
        bot.pk, origin=ORIGIN, host="testserver", user_key=ready["userKey"], conversation_id=ready["conversationId"])
    seq = await database_sync_to_async(services.post_message)(session, {"type": "text", "text": "count"})

    async def answer():
        await asyncio.sleep(0.3)  # the poll is waiting by now
        await asyncio.to_thread(turns.process_pending, session.conversation.pk)

    async def poll_until_answered():
        # A poll also returns on a poke that brings nothing new (the question's own): poll again.
        frames, polls = [], 0
        while not any(f["type"] == "message" for f in frames):
            polls += 1
            poll = await client.get(f"/webchat/{bot.pk}/api/poll",
                                    {"conversationId": ready["conversationId"], "after": seq},
                                    headers={"Origin": ORIGIN, "X-Webchat-User-Key": ready["userKey"]})
            frames += poll.json()["frames"]
        return frames, polls

    (frames, polls), _ = await asyncio.gather(asyncio.wait_for(poll_until_answered(), 20), answer())
    assert [f["type"] for f in frames] == ["message"]
    assert polls <= 2  # not one round trip per piece
    assert frames[0]["message"]["payload"] == {"text": ANSWER, "streamId": "answer:0"}
