"""Malformed websocket frames on the webchat's and the emulator's sockets (the real ASGI
application, PostgreSQL, the Redis channel layer): every frame is answered with an error
frame or, where the protocol says the socket ends, a close frame with a code; the socket is
never dropped, and after any refused frame a ping still gets its pong.

A table of the known-bad frames, then hypothesis: frames of every JSON shape with the
protocol's frame types."""
from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.webchat.tests.helpers import communicator as webchat_socket
from integrations.webchat.tests.helpers import demo_bot
from runtime.tests.bots import echo_bot
from studio.emulator.tests.test_emulator_protocol import _setup
from studio.emulator.tests.test_emulator_protocol import communicator as emulator_socket

from .conftest import DEEP_900, DEEP_ARRAY, DEEP_OBJECT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

TEXT = '{"type": "message", "payload": {"type": "text", "text": %s}}'
BAD_FRAMES = [  # (what it is, text or bytes)
    ("not JSON", "not json"),
    ("empty text", ""),
    ("binary", b"\x00\x01\x02"),
    ("binary JSON", b'{"type": "ping"}'),
    ("top-level array", "[1, 2]"),
    ("number", "42"),
    ("null", "null"),
    ("string", '"hello"'),
    ("nested 5000 levels", DEEP_ARRAY),
    ("payload nested 5000 levels", '{"type": "message", "payload": %s}' % DEEP_OBJECT),
    ("metadata nested 900 levels", '{"type": "event", "payload": %s}' % DEEP_900),
    ("NUL in text", TEXT % '"a\\u0000b"'),
    ("lone surrogate in text", TEXT % '"\\ud800"'),
    ("lone surrogate in an event", '{"type": "event", "payload": {"k": "\\udfff"}}'),
    ("lone surrogate in a key", '{"type": "event", "payload": {"\\ud800": 1}}'),
    ("huge", TEXT % json.dumps("x" * 200_000)),
    ("NaN", '{"type": "ping", "n": NaN}'),
    ("type is a number", '{"type": 5}'),
    ("type is null", '{"type": null}'),
    ("no type", '{"payload": {}}'),
    ("unknown type", '{"type": "dance"}'),
    ("payload is text", '{"type": "message", "payload": "hi"}'),
    ("text is a number", TEXT % "5"),
    ("clientId is an object", '{"type": "ping", "clientId": {"a": 1}}'),
    ("user data is a list", '{"type": "user", "data": [1]}'),
    ("truncated", '{"type": "message", "payload": {"type": "te'),
]


async def _answer(comm, timeout: float = 10.0) -> dict:
    """The next frame, or the close as {"type": "websocket.close", "code": ...}."""
    output = await comm.receive_output(timeout=timeout)
    if output["type"] == "websocket.close":
        return output
    assert output["type"] == "websocket.send", output
    return json.loads(output["text"])


async def _send(comm, frame) -> None:
    key = "bytes" if isinstance(frame, bytes) else "text"
    await comm.send_input({"type": "websocket.receive", key: frame})


async def _still_alive(comm, probe: str) -> list[dict]:
    """Ping, then read up to the pong (bot replies may come first); the frames before it."""
    await comm.send_json_to({"type": "ping", "clientId": probe})
    seen = []
    while True:
        frame = await _answer(comm)
        assert frame["type"] != "websocket.close", (seen, frame)
        if frame["type"] == "pong" and frame.get("clientId") == probe:
            return seen
        seen.append(frame)


async def _open_webchat(bot_id=None):
    if bot_id is None:
        bot_id = (await database_sync_to_async(demo_bot)()).pk
    comm = webchat_socket(bot_id)
    connected, _ = await comm.connect(timeout=30)
    assert connected
    return comm


async def _open_emulator(bot_and_cookie=None):
    bot, cookie = bot_and_cookie or await database_sync_to_async(_setup)(echo_bot())
    comm = emulator_socket(bot.pk, cookie)
    connected, _ = await comm.connect(timeout=30)
    assert connected
    return comm


async def _hello(comm) -> None:
    await comm.send_json_to({"type": "hello"})
    while (await _answer(comm))["type"] != "ready":
        pass
    await _still_alive(comm, "after hello")  # and past what follows the ready frame (state, welcome)


@pytest.mark.parametrize("socket", ["webchat", "emulator"])
@pytest.mark.parametrize("after_hello", [False, True], ids=["before hello", "after hello"])
async def test_every_bad_frame_is_answered_and_the_socket_stays(socket, after_hello):
    comm = await (_open_webchat() if socket == "webchat" else _open_emulator())
    if after_hello:
        await _hello(comm)
    wrong = []
    for what, frame in BAD_FRAMES:
        await _send(comm, frame)
        answer = await _answer(comm)
        if (what, answer["type"]) == ("clientId is an object", "pong") and after_hello and socket == "emulator":
            continue  # the emulator answers a ping whatever its clientId (it echoes only text ones)
        if answer["type"] != "error" or answer.get("fatal") or not answer.get("message"):
            wrong.append((what, answer))
            continue
        if after_hello:  # before its hello a socket answers anything else with an error
            await _still_alive(comm, f"probe {what}")
    assert wrong == []
    await comm.disconnect()


async def test_the_refusals_name_the_problem_and_where():
    comm = await _open_webchat()
    await _hello(comm)
    expected = {
        "nested 5000 levels": "nested deeper than 64 levels",
        "payload nested 5000 levels": "$.payload.a.a",
        "NUL in text": "$.payload.text: the string contains the NUL character",
        "lone surrogate in text": "$.payload.text: the string contains a lone surrogate",
        "lone surrogate in a key": '$.payload["\\ud800"]: the key contains a lone surrogate',
        "huge": "the frame is 200",
        "NaN": "NaN is not a JSON number",
        "binary": "frames must be JSON text",
        "not JSON": "frames must be JSON text",
    }
    frames = dict(BAD_FRAMES)
    for what, phrase in expected.items():
        await _send(comm, frames[what])
        answer = await _answer(comm)
        assert phrase in answer["message"], (what, answer)
    await comm.disconnect()


# ---- hypothesis: any JSON in any frame type --------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
FRAME_TYPES = st.sampled_from(["message", "event", "start", "user", "restart", "ping", "hello", "timeout",
                               "state", "newConversation", "newUser", "upload", "", "x"])
FRAMES = st.one_of(
    JSON_VALUES,
    st.dictionaries(st.sampled_from(["type", "payload", "clientId", "data", "conversationId", "userKey", "after",
                                     "name", "text"]), JSON_VALUES, max_size=5).flatmap(
        lambda rest: FRAME_TYPES.map(lambda kind: {**rest, "type": kind})),
    st.builds(lambda kind, payload: {"type": kind, "payload": payload}, FRAME_TYPES,
              st.dictionaries(st.sampled_from(["type", "text", "value", "title", "options"]), JSON_VALUES)),
)


async def _any_frame_keeps_the_socket(comm, frame) -> None:
    await comm.send_to(text_data=json.dumps(frame))
    probe = "hypothesis-probe"
    await comm.send_json_to({"type": "ping", "clientId": probe})
    while True:
        answer = await _answer(comm)
        if answer["type"] == "websocket.close":
            # Only the protocol's refusals end a socket, with their code and an error frame first.
            assert 4400 <= answer.get("code", 0) < 4500, (frame, answer)
            return
        if answer["type"] == "pong" and answer.get("clientId") == probe:
            return


# One bot per test, shared by its examples (each example opens its own socket and session).
@pytest.fixture
def webchat_bot_id(transactional_db):
    return demo_bot().pk


@pytest.fixture
def emulator_bot(transactional_db):
    return _setup(echo_bot())


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frames=st.lists(FRAMES, min_size=1, max_size=3))
async def test_any_json_frame_on_the_webchat_socket_is_answered(webchat_bot_id, frames):
    comm = await _open_webchat(webchat_bot_id)
    await _hello(comm)
    for frame in frames:
        await _any_frame_keeps_the_socket(comm, frame)
    await comm.disconnect()


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frames=st.lists(FRAMES, min_size=1, max_size=3))
async def test_any_json_frame_on_the_emulator_socket_is_answered(emulator_bot, frames):
    comm = await _open_emulator(emulator_bot)
    await _hello(comm)
    for frame in frames:
        await _any_frame_keeps_the_socket(comm, frame)
    await comm.disconnect()
