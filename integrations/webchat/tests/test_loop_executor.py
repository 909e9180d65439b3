"""On PostgreSQL the webchat's turns go through the turn service's loop executor
(runtime/async_turns.py), the Chat API's, over the websocket and the HTTP fallback alike:
the ORM executor is not used for them (issue 13, "One hot path for every channel")."""
import pytest
from channels.db import database_sync_to_async
from django.db import connection

from runtime import async_turns, turns
from runtime.tests.bots import echo_bot

from .helpers import bot_texts, communicator, create_bot, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="the loop's executor is PostgreSQL's")]


@pytest.fixture
def executors(monkeypatch):
    """The conversations each executor processed (the real executors run; they are only watched)."""
    seen = {"loop": [], "orm": []}
    loop_process, orm_process = async_turns.process_pending, turns.process_pending

    async def on_the_loop(conversation_id):
        seen["loop"].append(conversation_id)
        return await loop_process(conversation_id)

    def on_a_thread(conversation_id):
        seen["orm"].append(conversation_id)
        return orm_process(conversation_id)

    monkeypatch.setattr(async_turns, "process_pending", on_the_loop)
    monkeypatch.setattr(turns, "process_pending", on_a_thread)
    return seen


def typing_off(frame):
    return frame["type"] == "typing" and frame["on"] is False


async def test_webchat_turns_go_through_the_loop_executor(executors):
    bot = await database_sync_to_async(create_bot)(echo_bot())
    comm = communicator(bot.pk)
    connected, _ = await comm.connect(timeout=30)  # the first socket of a process warms up
    assert connected
    await comm.send_json_to({"type": "hello"})
    ready = await comm.receive_json_from(timeout=10)
    assert ready["type"] == "ready", ready

    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "hello"}})
    frames = await receive_until(comm, lambda f: bool(bot_texts([f])))
    frames += await receive_until(comm, typing_off)
    await comm.disconnect()

    assert bot_texts(frames) == ["got hello"]
    assert executors["loop"] and not executors["orm"]
