"""The widget's websocket on the production server (scripts/serve.sh web: uvicorn workers
with uvloop, httptools and websockets), not Channels' in-process communicator: a reply that
takes the bot a while reaches the socket, with the typing indicator around it, and a widget
that leaves while its reply is on the way costs the server nothing (no failed consumer, no
traceback, no group membership left behind)."""
import asyncio
import json

import pytest
import websockets
from channels.db import database_sync_to_async
from django.conf import settings

from runtime.tests.live_server import serve

from .helpers import ORIGIN, create_bot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def slow_bot():
    return {
        "format": "flowstudio.bot/1",
        "name": "Slow",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "work"},
            {"id": "work", "kind": "standard", "cards": [
                {"id": "slow", "type": "code", "code": "const t = Date.now(); while (Date.now() - t < 700) {}"},
                {"id": "t", "type": "text", "text": "done {{event.preview}}"},
            ], "next": None},
        ]}],
    }


async def frames_until(socket, predicate, timeout=20.0):
    frames = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await socket.recv())
            frames.append(frame)
            if predicate(frame):
                return frames


@pytest.mark.parametrize("workers", [2])
async def test_a_slow_reply_reaches_the_widget_on_serve_sh(tmp_path, workers):
    bot = await database_sync_to_async(create_bot)(slow_bot())
    with serve(tmp_path, workers=workers) as base:
        url = base.replace("http://", "ws://") + f"/ws/webchat/{bot.pk}/"
        async with websockets.connect(url, origin=ORIGIN) as socket:
            await socket.send(json.dumps({"type": "hello"}))
            ready = json.loads(await asyncio.wait_for(socket.recv(), 20))
            assert ready["type"] == "ready", ready
            for text in ("one", "two"):
                await socket.send(json.dumps({"type": "message", "payload": {"type": "text", "text": text}}))
                frames = await frames_until(socket, lambda f: f["type"] == "typing" and f["on"] is False)
                replies = [f["message"]["payload"]["text"] for f in frames
                           if f["type"] == "message" and f["message"]["direction"] == "outgoing"]
                kinds = [f["type"] for f in frames]
                assert replies == [f"done {text}"], kinds



async def test_a_widget_that_leaves_mid_turn_leaves_no_failure_and_no_group_member(tmp_path):
    import redis.asyncio as redis

    bot = await database_sync_to_async(create_bot)(slow_bot())
    with serve(tmp_path, workers=1) as base:
        url = base.replace("http://", "ws://") + f"/ws/webchat/{bot.pk}/"
        async with websockets.connect(url, origin=ORIGIN) as socket:
            await socket.send(json.dumps({"type": "hello"}))
            ready = json.loads(await asyncio.wait_for(socket.recv(), 20))
            await socket.send(json.dumps({"type": "message", "payload": {"type": "text", "text": "bye"}}))
        # Gone before the acknowledgement: it, the typing signals and the reply go to a
        # closed socket.
        conversation = await database_sync_to_async(
            lambda: bot.conversations.get(external_id=ready["conversationId"]))()
        await asyncio.sleep(2)  # the turn (0.7 s) is over and its reply sent
        client = redis.from_url(settings.REDIS_URL)
        try:
            members = await client.zcard(f"asgi:group:conversation.{conversation.pk}")
        finally:
            await client.aclose()
        log = next(tmp_path.glob("serve-*.log")).read_text(errors="replace")
    assert members == 0, "the socket's channel stayed in the conversation's group"
    replies = await database_sync_to_async(
        lambda: list(conversation.messages.filter(direction="outgoing").values_list("payload__text", flat=True)))()
    assert replies == ["done bye"]
    assert "Exception in ASGI application" not in log, log[-3000:]
    assert '"level": "ERROR"' not in log, log[-3000:]
