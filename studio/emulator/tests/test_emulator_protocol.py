"""The emulator's websocket (docs/emulator.md) through Channels' WebsocketCommunicator, the
real ASGI application (session auth, origin check), PostgreSQL and the Redis channel layer:
ordering, sequence numbers, resume after reconnect with nothing lost, new conversation /
new user / timeout semantics, state reset, permissions."""
import copy
import os
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from flows import services as flow_services
from runtime.models import Conversation, EndUser, Event
from runtime.tests.bots import capture_bot, echo_bot
from studio.asgi import application
from studio.people.models import Membership, Role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = "http://testserver"


@pytest.fixture(autouse=True)
def _private_channel_layer(settings):
    # Group names come from database ids, which repeat across xdist workers and helpers.
    from channels.layers import channel_layers

    if settings.REDIS_URL:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        settings.CHANNEL_LAYERS = {"default": {
            **settings.CHANNEL_LAYERS["default"],
            "CONFIG": {**settings.CHANNEL_LAYERS["default"]["CONFIG"],
                       "prefix": f"test-emulator-{worker}-{uuid.uuid4().hex[:8]}."},
        }}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def _setup(definition, role=Role.OWNER):
    """An owner's workspace with the bot (draft only, never published); returns
    (bot, session cookie of a member in `role`)."""
    from django.contrib.auth import get_user_model

    from studio.people.workspaces import create_workspace

    users = get_user_model().objects
    owner = users.create_user(username=f"o{uuid.uuid4().hex[:6]}@x.test", password="pw-123456789")
    workspace = create_workspace(owner, f"WS {uuid.uuid4().hex[:6]}")
    bot = flow_services.import_bot(copy.deepcopy(definition), workspace=workspace)
    member = owner
    if role != Role.OWNER:
        member = users.create_user(username=f"m{uuid.uuid4().hex[:6]}@x.test", password="pw-123456789")
        if role is not None:
            Membership.objects.create(workspace=workspace, user=member, role=role)
    return bot, cookie_for(member)


def cookie_for(user):
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def communicator(bot_id, cookie=None, origin=ORIGIN):
    headers = [(b"host", b"testserver")]
    if origin:
        headers.append((b"origin", origin.encode()))
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, f"/ws/emulator/{bot_id}/", headers=headers)


async def hello(comm, **fields):
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "hello", **fields})
    ready = await comm.receive_json_from(timeout=10)
    assert ready["type"] == "ready", ready
    return ready


async def receive_until(comm, predicate, timeout=15.0):
    frames = []
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        frames.append(frame)
        if predicate(frame):
            return frames


def is_state(frame):
    return frame["type"] == "state"


def messages(frames):
    return [f for f in frames if f["type"] == "message"]


def texts(frames, direction="outgoing"):
    return [f["message"]["payload"].get("text") for f in messages(frames) if f["message"]["direction"] == direction]


async def say(comm, text, client_id=None):
    """Send a text and read up to the state frame that follows its turn."""
    await comm.send_json_to({"type": "message", "clientId": client_id, "payload": {"type": "text", "text": text}})
    return await receive_until(comm, is_state)


async def test_a_message_gets_its_replies_then_the_turn_trace_and_state_all_with_seqs():
    bot, cookie = await database_sync_to_async(_setup)(echo_bot())
    comm = communicator(bot.pk, cookie)
    ready = await hello(comm)
    assert ready["newConversation"] is True and ready["seq"] == 0 and ready["user"]["id"].startswith("emulator-")
    opening = await receive_until(comm, is_state)  # a new conversation: just the state
    assert [f["type"] for f in opening] == ["state"]
    assert opening[0]["state"]["cursor"] is None

    frames = await say(comm, "hello", "c1")
    assert all(isinstance(f["seq"], int) for f in frames)
    assert frames[0] == {"type": "ack", "clientId": "c1", "messageSeq": 1, "seq": 0}
    assert [(f["seq"], f["message"]["direction"]) for f in messages(frames)] == [(1, "incoming"), (2, "outgoing")]
    assert texts(frames) == ["got hello"]
    turn_frame = next(f for f in frames if f["type"] == "turn")
    # The turn comes after the replies it explains, and carries the cursor as its seq.
    assert frames.index(turn_frame) > frames.index(messages(frames)[-1]) and turn_frame["seq"] == 2
    turn = turn_frame["turn"]
    assert turn["eventSeq"] == 1 and turn["status"] == "processed" and turn["replies"] == [2]
    assert turn["event"]["type"] == "text" and turn["event"]["payload"] == {"text": "hello"}
    assert turn["event"]["channel"] == "emulator" and turn["durationMs"] is not None
    kinds = [entry["type"] for entry in turn["trace"]]
    assert "transitioned" in kinds and "waiting_for_input" in kinds and "code_finished" in kinds
    assert any(e["type"] == "transitioned" and e["flow"] == "main" and e["node"] == "loop" for e in turn["trace"])
    state = frames[-1]["state"]
    assert state["cursor"]["flow"] == "main" and state["cursor"]["node"] == "loop"
    assert state["variables"]["user"]["count"] == 1 and state["variables"]["bot"]["total"] == 1
    assert [f["flow"] for f in state["callStack"]] == ["main"]

    # Stored with the event, so a reload or another tab shows the same trace.
    event = await database_sync_to_async(Event.objects.get)(conversation__external_id=ready["conversationId"], seq=1)
    assert event.trace == turn["trace"] and event.duration_ms == turn["durationMs"]
    await comm.disconnect()


async def test_messages_sent_quickly_are_answered_in_order_each_turn_once():
    bot, cookie = await database_sync_to_async(_setup)(echo_bot())
    comm = communicator(bot.pk, cookie)
    await hello(comm)
    await receive_until(comm, is_state)
    for word in ("one", "two", "three"):
        await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": word}})
    frames = []
    while len([f for f in frames if f["type"] == "turn"]) < 3:
        frames.append(await comm.receive_json_from(timeout=15))
    shown = messages(frames)
    seqs = [f["seq"] for f in shown]
    assert seqs == list(range(1, 7))
    assert texts(frames, "incoming") == ["one", "two", "three"]
    assert texts(frames) == ["got one", "got two", "got three"]
    incoming = [f["seq"] for f in shown if f["message"]["direction"] == "incoming"]
    assert [f["turn"]["eventSeq"] for f in frames if f["type"] == "turn"] == incoming
    # Every frame's seq never goes backwards: it is the client's cursor.
    assert [f["seq"] for f in frames] == sorted(f["seq"] for f in frames)
    await comm.disconnect()


async def test_a_reconnect_with_the_last_seqs_gets_exactly_what_it_missed_and_a_reload_everything():
    bot, cookie = await database_sync_to_async(_setup)(echo_bot())
    comm = communicator(bot.pk, cookie)
    ready = await hello(comm)
    await receive_until(comm, is_state)
    frames = await say(comm, "first")
    last_seq = messages(frames)[-1]["seq"]
    last_turn = next(f for f in frames if f["type"] == "turn")["turn"]["eventSeq"]
    await comm.disconnect()

    # While the panel is away (another tab), the conversation goes on.
    other = communicator(bot.pk, cookie)
    await hello(other, conversationId=ready["conversationId"], after=last_seq, turnsAfter=last_turn)
    await receive_until(other, is_state)
    await say(other, "second")
    await say(other, "third")
    await other.disconnect()

    comm = communicator(bot.pk, cookie)
    back = await hello(comm, conversationId=ready["conversationId"], after=last_seq, turnsAfter=last_turn)
    assert back["conversationId"] == ready["conversationId"] and back["newConversation"] is False
    assert back["seq"] == last_seq and back["lastSeq"] == last_seq + 4
    missed = await receive_until(comm, is_state)
    assert [f["seq"] for f in messages(missed)] == [3, 4, 5, 6]
    assert texts(missed, "incoming") == ["second", "third"] and texts(missed) == ["got second", "got third"]
    assert [f["turn"]["eventSeq"] for f in missed if f["type"] == "turn"] == [3, 5]
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()

    # A reload (no seqs kept, no conversation id either): the builder's latest emulator
    # conversation comes back whole, turns included.
    comm = communicator(bot.pk, cookie)
    again = await hello(comm)
    assert again["conversationId"] == ready["conversationId"]
    replay = await receive_until(comm, is_state)
    assert texts(replay, "incoming") == ["first", "second", "third"]
    assert [f["turn"]["eventSeq"] for f in replay if f["type"] == "turn"] == [1, 3, 5]
    await comm.disconnect()


async def test_new_conversation_keeps_the_user_new_user_starts_clean_timeout_runs_the_timeout_flow():
    bot, cookie = await database_sync_to_async(_setup)(echo_bot())
    comm = communicator(bot.pk, cookie)
    ready = await hello(comm)
    await receive_until(comm, is_state)
    await say(comm, "hi")

    await comm.send_json_to({"type": "newConversation", "clientId": "n1"})
    fresh = await comm.receive_json_from(timeout=10)
    assert fresh["type"] == "ready" and fresh["clientId"] == "n1" and fresh["newConversation"] is True
    assert fresh["conversationId"] != ready["conversationId"] and fresh["user"] == ready["user"]
    assert fresh["seq"] == 0 and fresh["lastSeq"] == 0
    state = (await receive_until(comm, is_state))[-1]["state"]
    assert state["cursor"] is None and state["variables"]["user"]["count"] == 1  # same user, same variables
    frames = await say(comm, "again")
    assert [f["seq"] for f in messages(frames)] == [1, 2]  # seqs are per conversation
    assert frames[-1]["state"]["variables"]["user"]["count"] == 2

    # Simulate timeout: the timeout flow answers and the dialog ends.
    await comm.send_json_to({"type": "timeout", "clientId": "t1"})
    frames = await receive_until(comm, is_state)
    assert frames[0]["type"] == "ack" and frames[0]["eventSeq"] == 3
    assert texts(frames) == ["Are you still there? Starting over."]
    turn = next(f for f in frames if f["type"] == "turn")["turn"]
    assert turn["event"]["type"] == "timeout"
    assert "timeout" in [e["type"] for e in turn["trace"]]
    assert frames[-1]["state"]["cursor"] is None

    await comm.send_json_to({"type": "newUser"})
    newcomer = await comm.receive_json_from(timeout=10)
    assert newcomer["user"]["id"] != ready["user"]["id"] and newcomer["conversationId"] != fresh["conversationId"]
    state = (await receive_until(comm, is_state))[-1]["state"]
    assert "count" not in state["variables"]["user"]
    assert state["variables"]["bot"]["total"] == 2  # bot variables are the draft's, shared
    stored = await database_sync_to_async(
        lambda: sorted(Conversation.objects.filter(bot=bot).values_list("channel", "is_draft").distinct()))()
    assert stored == [("emulator", True)]
    await comm.disconnect()


async def test_state_reset_clears_the_dialog_and_session_but_keeps_the_user():
    bot, cookie = await database_sync_to_async(_setup)(capture_bot())
    comm = communicator(bot.pk, cookie)
    await hello(comm)
    await receive_until(comm, is_state)
    frames = await say(comm, "retries")
    assert texts(frames) == ["How many pizzas?"]
    assert frames[-1]["state"]["cursor"]["node"] == "retries"
    frames = await say(comm, "//state/reset")
    assert texts(frames) == []
    turn = next(f for f in frames if f["type"] == "turn")["turn"]
    assert "state_reset" in [e["type"] for e in turn["trace"]]
    assert frames[-1]["state"]["cursor"] is None and frames[-1]["state"]["variables"]["session"] == {}
    await comm.disconnect()


async def test_bad_frames_are_answered_and_the_socket_stays():
    bot, cookie = await database_sync_to_async(_setup)(echo_bot())
    comm = communicator(bot.pk, cookie)
    await hello(comm)
    await receive_until(comm, is_state)
    await comm.send_json_to({"type": "message", "clientId": "x", "payload": {"type": "image"}})
    error = await comm.receive_json_from(timeout=10)
    assert error["type"] == "error" and error["code"] == "bad_request" and error["clientId"] == "x"
    assert "image" in error["message"] and "fatal" not in error
    await comm.send_json_to({"type": "dance"})
    assert "dance" in (await comm.receive_json_from(timeout=10))["message"]
    await comm.send_to(text_data="not json")
    assert (await comm.receive_json_from(timeout=10))["message"] == "frames must be JSON text"
    frames = await say(comm, "still here")
    assert texts(frames) == ["got still here"]
    await comm.disconnect()


@pytest.mark.parametrize("role, code, close", [
    (None, "bot_not_found", 4404),                      # not a member of the bot's workspace
    (Role.VIEWER, "permission_denied", 4403),           # may see the bot, not run its draft
    ("anonymous", "not_authenticated", 4401),
])
async def test_who_may_not_run_the_draft_is_refused(role, code, close):
    bot, cookie = await database_sync_to_async(_setup)(echo_bot(), role=None if role == "anonymous" else role)
    comm = communicator(bot.pk, None if role == "anonymous" else cookie)
    connected, _ = await comm.connect()
    assert connected
    frame = await comm.receive_json_from(timeout=10)
    assert frame["type"] == "error" and frame["code"] == code and frame["fatal"] is True
    assert (await comm.receive_output(timeout=5))["code"] == close
    assert not await database_sync_to_async(Conversation.objects.filter(bot=bot).exists)()


async def test_another_site_cannot_open_the_emulator_with_the_builders_cookie():
    bot, cookie = await database_sync_to_async(_setup)(echo_bot())
    comm = communicator(bot.pk, cookie, origin="https://evil.example.net")
    connected, _ = await comm.connect()
    assert not connected


async def test_a_builder_never_sees_another_builders_emulator_conversation():
    bot, cookie = await database_sync_to_async(_setup)(echo_bot())
    comm = communicator(bot.pk, cookie)
    mine = await hello(comm)
    await receive_until(comm, is_state)
    await say(comm, "secret")
    await comm.disconnect()

    def colleague():
        from django.contrib.auth import get_user_model
        other = get_user_model().objects.create_user(username="dev@x.test", password="pw-123456789")
        Membership.objects.create(workspace=bot.workspace, user=other, role=Role.DEVELOPER)
        return cookie_for(other)

    comm = communicator(bot.pk, await database_sync_to_async(colleague)())
    theirs = await hello(comm, conversationId=mine["conversationId"])
    assert theirs["conversationId"] != mine["conversationId"] and theirs["newConversation"] is True
    frames = await receive_until(comm, is_state)
    assert messages(frames) == []
    users = await database_sync_to_async(lambda: EndUser.objects.filter(bot=bot).count())()
    assert users == 2
    await comm.disconnect()
