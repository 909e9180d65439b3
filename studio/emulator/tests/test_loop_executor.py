"""On PostgreSQL the emulator's turns go through the turn service's loop executor
(runtime/async_turns.py), as the Chat API's and the webchat's do; the ORM executor is not
used for them (issue 13, "One hot path for every channel"). Draft conversations included."""
import pytest
from channels.db import database_sync_to_async
from django.db import connection

from runtime import async_turns, turns
from runtime.tests.bots import echo_bot
from studio.emulator.tests.test_emulator_protocol import (
    _private_channel_layer,  # noqa: F401 - its fixture
    _setup,
    communicator,
    is_state,
    receive_until,
    say,
    texts,
)

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


async def test_emulator_turns_go_through_the_loop_executor(executors):
    bot, cookie = await database_sync_to_async(_setup)(echo_bot())
    comm = communicator(bot.pk, cookie)
    connected, _ = await comm.connect(timeout=30)  # the first socket of a process warms up
    assert connected
    await comm.send_json_to({"type": "hello"})
    assert (await comm.receive_json_from(timeout=60))["type"] == "ready"
    await receive_until(comm, is_state, timeout=30)
    frames = await say(comm, "hello", "c1")
    turn = next(f["turn"] for f in frames if f["type"] == "turn")
    await comm.disconnect()

    assert texts(frames) == ["got hello"]
    assert turn["status"] == "processed" and turn["trace"]
    assert executors["loop"] and not executors["orm"]
