"""A listen stream's queue is bounded: a client that stops reading is cut off once it is
CHAT_API_STREAM_BUFFER signals behind, and its backlog is freed (it reconnects with
Last-Event-ID and gets the replay); a client that keeps up loses nothing."""
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

from integrations.chat_api import live
from integrations.chat_api.hub import OVERFLOWED, hub
from runtime.tests.server_loop import run


async def _no_replay(*args, **kwargs):
    return []


def _stream(conversation):
    user = SimpleNamespace(external_id="reader")
    return live.stream(user, conversation, last_event_id=None, opened_at=datetime.now(timezone.utc),
                       run_db=_no_replay)


def _signals(count, start=1):
    return [({"type": "message_created", "data": {"n": n}}, n, None) for n in range(start, start + count)]


def test_a_client_that_falls_behind_is_disconnected_and_its_backlog_freed(settings):
    settings.CHAT_API_STREAM_BUFFER = 5
    run(_falls_behind())


async def _falls_behind():
    conversation = SimpleNamespace(pk=f"slow-{uuid.uuid4()}")
    body = _stream(conversation)
    assert await body.__anext__() == ": connected\n\n"
    [queue] = hub._streams[conversation.pk]
    hub.publish(conversation.pk, _signals(50))
    # Nothing of the 50 is held for it: the queue holds only the marker.
    assert queue.qsize() == 1 and queue.get_nowait() is OVERFLOWED
    queue.put_nowait(OVERFLOWED)
    assert [text async for text in body] == []  # the stream ends
    assert conversation.pk not in hub._streams


def test_a_client_that_keeps_up_gets_every_signal(settings):
    settings.CHAT_API_STREAM_BUFFER = 5
    run(_keeps_up())


async def _keeps_up():
    conversation = SimpleNamespace(pk=f"fast-{uuid.uuid4()}")
    body = _stream(conversation)
    assert await body.__anext__() == ": connected\n\n"
    received = []
    for batch in range(10):
        hub.publish(conversation.pk, _signals(5, start=batch * 5 + 1))
        # Signals already queued together leave in one write: split it into its events.
        got = []
        while len(got) < 5:
            got += [event + "\n\n" for event in (await body.__anext__()).split("\n\n") if event]
        received += got
    await body.aclose()
    assert [text.split("\n")[0] for text in received] == [f"id: {n}" for n in range(1, 51)]
