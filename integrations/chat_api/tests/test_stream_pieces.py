"""The pieces of a streamed answer come from the LLM loop's thread, not the server's: they
reach the listen streams on the server's loop without the hub taking the LLM loop for its
own, and a piece that comes after the message replacing it is not sent (docs/chat-api.md,
"Streamed answers and stop")."""
import asyncio
import json
import threading
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

from integrations.chat_api import live
from integrations.chat_api.hub import Hub, hub
from runtime import delivery
from runtime.tests.server_loop import run, server_loop


async def _no_replay(*args, **kwargs):
    return []


def _conversation():
    return SimpleNamespace(pk=f"pieces-{uuid.uuid4()}", external_id="conv-1", bot_id="b0t", channel="chat_api")


def _delta(event_id, index, text, offset):
    return {"type": "delta", "eventId": event_id, "streamId": "answer:0", "delta": text, "offset": offset,
            "index": index}


def _from_another_loop(signals, conversation):
    """Publishes as the LLM loop does: from a coroutine on a loop of its own thread."""
    loop = asyncio.new_event_loop()

    async def publish():
        for signal in signals:
            delivery.publish_signal(conversation, signal)

    thread = threading.Thread(target=lambda: loop.run_until_complete(publish()))
    thread.start()
    thread.join(10)
    loop.close()
    return loop


def _data(text):
    return json.loads(text.removeprefix("data: "))


def _events(body, count):
    """The next `count` SSE events of the stream: signals queued together leave in one
    write (integrations/chat_api/live.py `stream`), so a read may hold several."""
    got = []
    while len(got) < count:
        got += [event + "\n\n" for event in run(body.__anext__()).split("\n\n") if event]
    assert len(got) == count, got
    return got


def test_pieces_from_the_llm_loop_reach_a_listener_on_the_server_loop_in_order():
    conversation = _conversation()
    body = live.stream(SimpleNamespace(external_id="ada"), conversation, last_event_id=None,
                       opened_at=datetime.now(timezone.utc), run_db=_no_replay)
    assert run(body.__anext__()) == ": connected\n\n"
    llm_loop = _from_another_loop([_delta(7, 0, "one ", 0), _delta(7, 1, "two", 4)], conversation)
    assert hub._loop is server_loop() and hub._loop is not llm_loop  # the hub kept the server's loop

    first, second = _events(body, 2)
    assert [_data(first), _data(second)] == [
        {"type": "message_delta", "data": {"conversationId": "conv-1", "userId": "bot:b0t", "streamId": "answer:0",
                                           "delta": "one ", "offset": 0, "index": 0}},
        {"type": "message_delta", "data": {"conversationId": "conv-1", "userId": "bot:b0t", "streamId": "answer:0",
                                           "delta": "two", "offset": 4, "index": 1}}]

    # The stored message, then a straggler of its answer (dropped), then the next turn's
    # answer of the same card (sent).
    message = {"type": "message_created", "data": {"payload": {"type": "text", "text": "one two!",
                                                               "streamId": "answer:0"}, "isBot": True},
               live.TURN: "7"}
    hub.publish(conversation.pk, [(message, 3, None)])
    _from_another_loop([_delta(7, 2, "!", 7), _delta(8, 0, "next", 0)], conversation)
    got, following = _events(body, 2)
    assert got.startswith("id: 3\n") and live.TURN not in got  # the hub's bookkeeping is not sent
    assert _data(following)["data"]["delta"] == "next"

    # A stopped turn: its pieces still on their way after `message_cancelled` are dropped.
    hub.publish(conversation.pk, [({"type": "message_cancelled", "data": {"conversationId": "conv-1"},
                                    live.TURN: "8"}, None, None)])
    _from_another_loop([_delta(8, 1, " more", 4), _delta(9, 0, "fresh", 0)], conversation)
    cancelled, fresh = _events(body, 2)
    assert _data(cancelled) == {"type": "message_cancelled", "data": {"conversationId": "conv-1"}}
    assert _data(fresh)["data"]["delta"] == "fresh"
    run(body.aclose())


def test_signals_of_other_channels_are_not_the_chat_apis():
    conversation = SimpleNamespace(**{**vars(_conversation()), "channel": "webchat"})
    body = live.stream(SimpleNamespace(external_id="ada"), conversation, last_event_id=None,
                       opened_at=datetime.now(timezone.utc), run_db=_no_replay)
    assert run(body.__anext__()) == ": connected\n\n"
    live.on_signal(conversation, _delta(1, 0, "x", 0))
    [queue] = hub._streams[conversation.pk]
    run(asyncio.sleep(0.05))
    assert queue.empty()
    run(body.aclose())


def test_a_piece_published_before_any_stream_opened_leaves_the_hub_unbound():
    # A process that served no listen stream yet: publishing from the LLM loop must not make
    # that loop the hub's (the streams opened later on the server's loop would never be fed).
    fresh = Hub()
    loop = asyncio.new_event_loop()

    async def publish():
        fresh.publish_transient("c1", [({"type": "message_delta", "data": {}}, None, None)])

    loop.run_until_complete(publish())
    loop.close()
    assert fresh._loop is None
