"""The websocket protocol (docs/websocket-protocol.md) through Channels' WebsocketCommunicator,
the real ASGI application, PostgreSQL and the Redis channel layer: ordering, sequence
numbers, resume after reconnect with nothing lost, origin checks."""
import asyncio

import pytest
from channels.db import database_sync_to_async

from runtime import turns
from runtime.models import Conversation, Message
from runtime.tests.bots import echo_bot

from .. import services
from .helpers import ORIGIN, bot_texts, communicator, create_bot, demo_bot, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def hello(comm, **fields):
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "hello", **fields})
    ready = await comm.receive_json_from(timeout=10)
    assert ready["type"] == "ready", ready
    return ready


def messages(frames):
    return [f for f in frames if f["type"] == "message"]


def typing_off(frame):
    return frame["type"] == "typing" and frame["on"] is False


async def test_opening_the_widget_sends_the_welcome_once_and_every_frame_carries_a_seq():
    bot = await database_sync_to_async(demo_bot)()
    comm = communicator(bot.pk)
    ready = await hello(comm)
    assert ready["seq"] == 0 and ready["newConversation"] is True
    assert ready["userKey"] and ready["conversationId"] and ready["user"]["id"]

    await comm.send_json_to({"type": "start", "clientId": "s1"})
    frames = await receive_until(comm, typing_off)
    ack = frames[0]
    assert ack == {"type": "ack", "clientId": "s1", "started": True, "seq": 0}
    assert bot_texts(frames) == ["Hi! I'm the Flowstudio webchat demo.", "What's your name?"]
    assert all("seq" in frame for frame in frames)
    seqs = [f["seq"] for f in messages(frames)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # A control frame's seq is the client's cursor: the last message it was sent.
    assert frames[-1]["seq"] == seqs[-1]

    await comm.send_json_to({"type": "start", "clientId": "s2"})
    again = await comm.receive_json_from(timeout=10)
    assert again["started"] is False
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


async def test_a_capture_and_a_choice_round_trip_in_order():
    bot = await database_sync_to_async(demo_bot)()
    comm = communicator(bot.pk)
    await hello(comm)
    await comm.send_json_to({"type": "start"})
    await receive_until(comm, typing_off)

    await comm.send_json_to({"type": "message", "clientId": "m1", "payload": {"type": "text", "text": "Ada"}})
    frames = await receive_until(comm, typing_off)
    assert frames[0]["type"] == "ack" and frames[0]["clientId"] == "m1"
    shown = messages(frames)
    assert shown[0]["message"]["direction"] == "incoming"
    assert shown[0]["message"]["payload"] == {"text": "Ada"}
    assert shown[0]["seq"] == frames[0]["messageSeq"]
    question = shown[1]["message"]
    assert question["type"] == "choice"
    assert question["payload"]["text"] == "Nice to meet you, Ada! Which plan interests you?"
    assert [o["label"] for o in question["payload"]["options"]] == ["Starter", "Pro", "Enterprise"]

    await comm.send_json_to({"type": "message", "payload": {"type": "choice", "value": "pro", "label": "Pro"}})
    frames = await receive_until(comm, typing_off)
    shown = messages(frames)
    assert shown[0]["message"]["payload"] == {"value": "pro", "label": "Pro"}
    assert shown[1]["message"]["type"] == "markdown"
    assert shown[1]["message"]["payload"]["markdown"] == "Thanks **Ada**, you picked the *pro* plan."
    event = shown[2]["message"]
    assert event["type"] == "event" and event["direction"] == "outgoing"
    assert event["payload"] == {"payload": {"type": "plan-chosen", "plan": "pro"}}
    await comm.disconnect()


async def test_messages_sent_quickly_are_answered_in_order():
    bot = await database_sync_to_async(create_bot)(echo_bot())
    comm = communicator(bot.pk)
    await hello(comm)
    for word in ("one", "two", "three"):
        await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": word}})
    frames = []
    while len([f for f in messages(frames)]) < 6:
        frames.append(await comm.receive_json_from(timeout=10))
    shown = messages(frames)
    # Whatever interleaving the turns had, the frames arrive in seq order, each seq once.
    seqs = [f["seq"] for f in shown]
    assert seqs == sorted(seqs) and len(set(seqs)) == 6
    # Each reply answers its own message.
    said = [f["message"]["payload"]["text"] for f in shown if f["message"]["direction"] == "incoming"]
    replies = [f["message"]["payload"]["text"] for f in shown if f["message"]["direction"] == "outgoing"]
    assert said == ["one", "two", "three"]
    assert replies == ["got one", "got two", "got three"]
    await comm.disconnect()


async def test_a_reconnect_with_the_last_seq_gets_exactly_what_it_missed():
    bot = await database_sync_to_async(create_bot)(echo_bot())
    comm = communicator(bot.pk)
    ready = await hello(comm)
    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "first"}})
    frames = await receive_until(comm, typing_off)
    last_seen = messages(frames)[-1]["seq"]
    await comm.disconnect()

    # While the widget is away, the conversation goes on (another tab, the HTTP fallback...).
    def meanwhile():
        session = services.resume_session(bot.pk, origin=ORIGIN, host="studio.test",
                                          user_key=ready["userKey"], conversation_id=ready["conversationId"])
        for word in ("second", "third"):
            services.post_message(session, {"type": "text", "text": word})
            services.process(session.conversation.pk)
    await database_sync_to_async(meanwhile)()

    comm = communicator(bot.pk)
    back = await hello(comm, userKey=ready["userKey"], conversationId=ready["conversationId"], after=last_seen)
    assert back["conversationId"] == ready["conversationId"] and back["newConversation"] is False
    assert back["seq"] == last_seen and back["lastSeq"] == last_seen + 4
    missed = [await comm.receive_json_from(timeout=10) for _ in range(4)]
    assert [f["seq"] for f in missed] == list(range(last_seen + 1, last_seen + 5))
    assert [f["message"]["payload"]["text"] for f in missed] == ["second", "got second", "third", "got third"]
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()

    # A reload (no seq kept) replays the whole conversation.
    comm = communicator(bot.pk)
    await hello(comm, userKey=ready["userKey"], conversationId=ready["conversationId"])
    replay = [await comm.receive_json_from(timeout=10) for _ in range(6)]
    assert [f["message"]["payload"]["text"] for f in replay] == [
        "first", "got first", "second", "got second", "third", "got third"]
    await comm.disconnect()


async def test_two_tabs_on_one_conversation_each_see_every_message_once_in_order():
    bot = await database_sync_to_async(create_bot)(echo_bot())
    first = communicator(bot.pk)
    ready = await hello(first)
    second = communicator(bot.pk)
    await hello(second, userKey=ready["userKey"], conversationId=ready["conversationId"])

    for word in ("a", "b"):
        await first.send_json_to({"type": "message", "payload": {"type": "text", "text": word}})
        await second.send_json_to({"type": "message", "payload": {"type": "text", "text": word.upper()}})

    async def collect(comm):
        seen = []
        while len(seen) < 8:
            frame = await comm.receive_json_from(timeout=10)
            if frame["type"] == "message":
                seen.append((frame["seq"], frame["message"]["payload"]["text"]))
        return seen

    one, two = await asyncio.gather(collect(first), collect(second))
    assert one == two
    assert [seq for seq, _ in one] == sorted(seq for seq, _ in one)
    assert len({seq for seq, _ in one}) == 8
    stored = await database_sync_to_async(
        lambda: list(Message.objects.filter(conversation__external_id=ready["conversationId"])
                     .order_by("seq").values_list("seq", "payload__text")))()
    assert one == [tuple(row) for row in stored]
    await first.disconnect()
    await second.disconnect()


async def test_a_page_on_an_origin_that_is_not_allowed_is_refused_on_connect():
    bot = await database_sync_to_async(demo_bot)(allowed_origins=["https://shop.example.com"])
    comm = communicator(bot.pk, origin="https://evil.example.net")
    connected, _ = await comm.connect()
    assert connected  # accepted only to say why it is closed
    frame = await comm.receive_json_from(timeout=10)
    assert frame["type"] == "error" and frame["code"] == "origin_not_allowed" and frame["fatal"] is True
    assert "https://evil.example.net" in frame["message"]
    assert (await comm.receive_output(timeout=5))["code"] == 4403
    assert not await database_sync_to_async(Conversation.objects.filter(bot=bot).exists)()


async def test_allowed_origins_wildcards_and_the_studio_itself_pass():
    bot = await database_sync_to_async(demo_bot)(allowed_origins=["https://*.example.com"])
    for origin, host in (("https://shop.example.com", "studio.test"), ("http://studio.test", "studio.test")):
        comm = communicator(bot.pk, origin=origin, host=host)
        await hello(comm)
        await comm.disconnect()
    comm = communicator(bot.pk, origin=None)  # a non-browser client without Origin
    await comm.connect()
    assert (await comm.receive_json_from(timeout=10))["code"] == "origin_not_allowed"
    await comm.disconnect()


async def test_an_origin_removed_from_the_settings_is_refused_on_its_next_message():
    bot = await database_sync_to_async(create_bot)(echo_bot(), allowed_origins=[ORIGIN])
    comm = communicator(bot.pk)
    ready = await hello(comm)
    await database_sync_to_async(services.update_settings)(bot, {"allowed_origins": ["https://other.example.org"]})

    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "still here?"}})
    frame = await comm.receive_json_from(timeout=10)
    assert frame["code"] == "origin_not_allowed"
    assert (await comm.receive_output(timeout=5))["code"] == 4403
    stored = await database_sync_to_async(
        Message.objects.filter(conversation__external_id=ready["conversationId"]).count)()
    assert stored == 0


async def test_restart_moves_the_socket_to_a_new_conversation_of_the_same_user():
    bot = await database_sync_to_async(create_bot)(echo_bot())
    comm = communicator(bot.pk)
    ready = await hello(comm)
    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "old"}})
    await receive_until(comm, typing_off)

    await comm.send_json_to({"type": "restart", "clientId": "r"})
    switched = await comm.receive_json_from(timeout=10)
    assert switched["type"] == "conversation" and switched["clientId"] == "r"
    assert switched["conversationId"] != ready["conversationId"] and switched["seq"] == 0
    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "new"}})
    frames = await receive_until(comm, typing_off)
    assert [(f["seq"], f["conversationId"]) for f in messages(frames)] == [
        (1, switched["conversationId"]), (2, switched["conversationId"])]

    def owners():
        conversations = Conversation.objects.filter(external_id__in=[ready["conversationId"], switched["conversationId"]])
        return {c.user_id for c in conversations}, conversations.count()
    users, count = await database_sync_to_async(owners)()
    assert count == 2 and len(users) == 1
    await comm.disconnect()


async def test_bad_frames_get_a_clear_error_and_the_socket_stays_open():
    bot = await database_sync_to_async(create_bot)(echo_bot())
    comm = communicator(bot.pk)
    await comm.connect()
    await comm.send_json_to({"type": "message"})
    first = await comm.receive_json_from(timeout=10)
    assert first["code"] == "bad_request" and "hello" in first["message"]
    await comm.send_json_to({"type": "hello"})
    assert (await comm.receive_json_from(timeout=10))["type"] == "ready"

    await comm.send_to(text_data="not json")
    assert (await comm.receive_json_from(timeout=10))["code"] == "bad_request"
    await comm.send_json_to({"type": "dance", "clientId": "x"})
    unknown = await comm.receive_json_from(timeout=10)
    assert unknown["clientId"] == "x" and "unknown frame type 'dance'" in unknown["message"]
    await comm.send_json_to({"type": "message", "clientId": "y", "payload": {"type": "text", "text": "  "}})
    empty = await comm.receive_json_from(timeout=10)
    assert empty["clientId"] == "y" and empty["message"] == "a text message needs a non-empty text"
    await comm.send_json_to({"type": "message", "payload": {"type": "image", "imageUrl": "https://x"}})
    assert "cannot be sent from the webchat" in (await comm.receive_json_from(timeout=10))["message"]

    await comm.send_json_to({"type": "ping", "clientId": "p"})
    assert (await comm.receive_json_from(timeout=10)) == {"type": "pong", "clientId": "p", "seq": 0}
    await comm.disconnect()


async def test_unknown_and_unpublished_bots_are_refused():
    comm = communicator("00000000-0000-0000-0000-000000000000")
    await comm.connect()
    assert (await comm.receive_json_from(timeout=10))["code"] == "bot_not_found"
    assert (await comm.receive_output(timeout=5))["code"] == 4404

    bot = await database_sync_to_async(create_bot)(echo_bot(), publish=False)
    comm = communicator(bot.pk)
    await comm.connect()
    await comm.send_json_to({"type": "hello"})
    refused = await comm.receive_json_from(timeout=10)
    assert refused["code"] == "not_published" and "publish it first" in refused["message"]
    assert (await comm.receive_output(timeout=5))["code"] == 4404


async def test_a_custom_event_from_the_page_fires_the_custom_trigger():
    bot = await database_sync_to_async(demo_bot)()
    comm = communicator(bot.pk)
    await hello(comm)
    await comm.send_json_to({"type": "event", "clientId": "e", "payload": {"type": "show-pricing"}})
    frames = await receive_until(comm, typing_off)
    assert frames[0]["type"] == "ack" and frames[0]["eventSeq"] > 0
    shown = [f["message"] for f in messages(frames)]
    # The page's own event is in the transcript (incoming); the widget does not show it.
    assert (shown[0]["type"], shown[0]["direction"]) == ("event", "incoming")
    assert shown[1]["payload"] == {"payload": {"type": "webchat:show"}}
    assert shown[2]["type"] == "card" and shown[2]["payload"]["title"] == "Pro plan"
    await comm.disconnect()


async def test_no_welcome_for_a_conversation_the_page_already_began():
    bot = await database_sync_to_async(demo_bot)()
    comm = communicator(bot.pk)
    await hello(comm)
    # The page sent an event while the widget was still closed; the pricing flow waits.
    await comm.send_json_to({"type": "event", "payload": {"type": "show-pricing"}})
    await receive_until(comm, typing_off)
    await comm.send_json_to({"type": "start", "clientId": "s"})
    ack = await comm.receive_json_from(timeout=10)
    assert ack["started"] is False
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


async def test_a_deleted_message_is_withdrawn_live_and_gone_from_replays():
    bot = await database_sync_to_async(create_bot)(echo_bot())
    comm = communicator(bot.pk)
    ready = await hello(comm)
    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "oops"}})
    frames = await receive_until(comm, typing_off)
    cursor = frames[-1]["seq"]

    def delete_first():
        conversation = Conversation.objects.get(external_id=ready["conversationId"])
        turns.delete_messages(conversation, list(conversation.messages.filter(seq=1)))
    await database_sync_to_async(delete_first)()
    assert await comm.receive_json_from(timeout=10) == {"type": "deleted", "seq": cursor, "messageSeqs": [1]}
    await comm.disconnect()

    comm = communicator(bot.pk)
    await hello(comm, userKey=ready["userKey"], conversationId=ready["conversationId"])
    replay = await comm.receive_json_from(timeout=10)
    assert (replay["seq"], replay["message"]["payload"]["text"]) == (2, "got oops")
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()
