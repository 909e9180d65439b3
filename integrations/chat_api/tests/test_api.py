"""The Chat API over HTTP: ids, limits, payloads, metadata, pages, users, events, and that
everything goes through the turn service."""
import json

import pytest

from runtime.models import Event, Message

from . import asgi_client

LONG = "x" * 65


@pytest.mark.parametrize("bad_id", ["with+plus", "with space", "slash/in", LONG, "", 12])
def test_caller_chosen_ids_are_checked(chat, bad_id):
    status, body = chat.call("POST", "/users", {"id": bad_id})
    assert (status, body["type"]) == (400, "InvalidPayload"), body
    assert "user id" in body["message"]
    _, key = chat.user()
    for path in ("/conversations", "/conversations/get-or-create"):
        status, body = chat.call("POST", path, {"id": bad_id}, key=key)
        assert (status, body["type"]) == (400, "InvalidPayload"), (path, body)


def test_duplicate_ids_are_already_exists(chat):
    chat.user(id="dup-user")
    status, body = chat.call("POST", "/users", {"id": "dup-user"})
    assert (status, body["type"], body["code"]) == (409, "AlreadyExists", 409)
    _, key = chat.user()
    chat.conversation(key, id="dup-conversation")
    status, body = chat.call("POST", "/conversations", {"id": "dup-conversation"}, key=key)
    assert (status, body["type"]) == (409, "AlreadyExists")
    # get-or-create returns the existing one instead
    status, body = chat.call("POST", "/conversations/get-or-create", {"id": "dup-conversation"}, key=key)
    assert (status, body["conversation"]["id"]) == (201, "dup-conversation")


def test_a_body_over_one_megabyte_is_413_and_stores_nothing(chat):
    _, key = chat.user()
    conversation = chat.conversation(key)
    text = "a" * (1024 * 1024)
    status, body = chat.say(key, conversation, text)
    assert (status, body["type"], body["code"]) == (413, "PayloadTooLarge", 413)
    assert "1 MB" in body["message"]
    assert not Event.objects.filter(conversation__external_id=conversation).exists()
    # Just under the limit is fine.
    status, _ = chat.say(key, conversation, "a" * (1024 * 1024 - 200))
    assert status == 201


@pytest.mark.parametrize("payload, phrase", [
    ({"type": "text"}, "payload.text is required"),
    ({"type": "text", "text": ""}, "payload.text must be a non-empty string"),
    ({"type": "telepathy"}, "payload.type 'telepathy' is not a message type"),
    ({"type": "location", "latitude": "north", "longitude": 1}, "payload.latitude must be a number"),
    ({"type": "card", "title": "t", "actions": [{"action": "jump", "label": "l", "value": "v"}]},
     "payload.actions[0].action must be one of"),
    ({"type": "bloc", "items": [{"type": "text", "text": "ok"}, {"type": "image"}]}, "payload.items[1].imageUrl is required"),
    ({"type": "choice", "text": "pick", "options": [{"label": "a"}]}, "payload.options[0].value is required"),
    ("text", "payload must be an object"),
])
def test_bad_message_payloads_name_the_field(chat, payload, phrase):
    _, key = chat.user()
    conversation = chat.conversation(key)
    status, body = chat.call("POST", "/messages", {"conversationId": conversation, "payload": payload}, key=key)
    assert (status, body["type"]) == (400, "InvalidPayload")
    assert phrase in body["message"], body["message"]


def test_bad_json_and_non_object_bodies(chat):
    assert chat.call("POST", "/users", raw="{not json")[1]["type"] == "InvalidPayload"
    assert chat.call("POST", "/users", raw="[1, 2]")[1]["message"] == "the request body must be a JSON object"
    status, body = chat.call("PATCH", "/users/me")
    assert (status, body["type"]) == (405, "MethodNotFound")


def test_every_payload_type_round_trips(chat):
    _, key = chat.user()
    conversation = chat.conversation(key)
    payloads = [
        {"type": "text", "text": "hi"},
        {"type": "markdown", "markdown": "**hi**"},
        {"type": "image", "imageUrl": "https://example.org/i.png"},
        {"type": "audio", "audioUrl": "https://example.org/a.mp3"},
        {"type": "video", "videoUrl": "https://example.org/v.mp4"},
        {"type": "file", "fileUrl": "https://example.org/f.pdf", "title": "F"},
        {"type": "location", "latitude": 45.5, "longitude": -73.5, "address": "Montréal"},
        {"type": "card", "title": "T", "actions": [{"action": "url", "label": "Go", "value": "https://x.org"}]},
        {"type": "carousel", "items": [{"type": "card", "title": "T", "actions": []}]},
        {"type": "choice", "text": "Pick", "options": [{"label": "A", "value": "a"}]},
        {"type": "dropdown", "text": "Pick", "options": [{"label": "A", "value": "a"}]},
        {"type": "bloc", "items": [{"type": "text", "text": "x"}, {"type": "location", "latitude": 1, "longitude": 2}]},
    ]
    for payload in payloads:
        status, body = chat.call("POST", "/messages", {"conversationId": conversation, "payload": payload}, key=key)
        assert status == 201, body
        assert body["message"]["payload"] == payload
        fetched = chat.call("GET", f"/messages/{body['message']['id']}", key=key)[1]["message"]
        assert fetched == body["message"]


def test_the_hello_bot_answers_through_the_turn_service(chat):
    user_id, key = chat.user()
    conversation = chat.conversation(key)
    status, sent = chat.say(key, conversation, "metadata", metadata={"foo": "bar"})
    assert status == 201
    assert sent["message"]["metadata"] == {"foo": "bar"} and "metadata" not in sent["message"]["payload"]
    messages = chat.call("GET", f"/conversations/{conversation}/messages", key=key)[1]["messages"]
    assert messages[0] == sent["message"]
    reply = messages[1]
    assert reply["payload"] == {"type": "text", "text": "metadata"} and reply["metadata"] == {"foo": "bar"}
    assert reply["userId"].startswith("bot:") and reply["userId"] != user_id
    # Stored as an event of the runtime, processed by a turn.
    event = Event.objects.get(conversation__external_id=conversation)
    assert (event.type, event.status, event.metadata) == ("text", "processed", {"foo": "bar"})

    chat.say(key, conversation, "bloc")
    bloc = chat.call("GET", f"/conversations/{conversation}/messages", key=key)[1]["messages"][-1]
    assert bloc["payload"]["type"] == "bloc" and len(bloc["payload"]["items"]) == 3


def test_custom_events_are_passed_back_by_the_bot(chat):
    _, key = chat.user()
    conversation = chat.conversation(key)
    status, body = chat.call("POST", "/events", {"conversationId": conversation, "payload": {"foo": "bar"}}, key=key)
    assert status == 201
    sent = body["event"]
    assert sent["payload"] == {"foo": "bar"}
    assert chat.call("GET", f"/events/{sent['id']}", key=key)[1]["event"] == sent
    bot_event = Message.objects.get(conversation__external_id=conversation, direction="outgoing")
    assert (bot_event.type, bot_event.payload) == ("event", {"payload": {"foo": "bar"}})
    # Events are not messages: neither listed nor fetchable as one.
    assert chat.call("GET", f"/conversations/{conversation}/messages", key=key)[1]["messages"] == []
    assert chat.call("GET", f"/messages/{sent['id']}", key=key)[0] == 404
    assert chat.call("POST", "/events", {"conversationId": conversation, "payload": "x"}, key=key)[0] == 400


def test_pages_with_next_token(chat):
    _, key = chat.user()
    created = [chat.conversation(key) for _ in range(23)]
    status, first = chat.call("GET", "/conversations", key=key)
    assert status == 200 and len(first["conversations"]) == 20
    token = first["meta"]["nextToken"]
    second = chat.call("GET", "/conversations", key=key, nextToken=token)[1]
    assert len(second["conversations"]) == 3 and second["meta"] == {}
    listed = [c["id"] for c in first["conversations"] + second["conversations"]]
    assert listed == list(reversed(created))  # newest first, no repeats, none missing
    assert chat.call("GET", "/conversations", key=key, nextToken="garbage!")[1]["type"] == "InvalidPayload"

    conversation = created[0]
    for i in range(11):  # 11 messages and 11 replies
        chat.say(key, conversation, f"m{i}")
    page1 = chat.call("GET", f"/conversations/{conversation}/messages", key=key)[1]
    page2 = chat.call("GET", f"/conversations/{conversation}/messages", key=key,
                      nextToken=page1["meta"]["nextToken"])[1]
    texts = [m["payload"]["text"] for m in page1["messages"] + page2["messages"]]
    assert len(page1["messages"]) == 20 and len(page2["messages"]) == 2 and "nextToken" not in page2["meta"]
    assert texts == [t for i in range(11) for t in (f"m{i}", f"m{i}")]  # oldest first, each with its echo


def test_users_get_update_delete(chat):
    user_id, key = chat.user(name="Ada", pictureUrl="https://example.org/ada.png", profile="likes math")
    status, body = chat.call("GET", "/users/me", key=key)
    assert body["user"]["name"] == "Ada" and body["user"]["profile"] == "likes math"
    assert body["user"]["pictureUrl"] == "https://example.org/ada.png"
    status, body = chat.call("PUT", "/users/me", {"name": "Ada L."}, key=key)
    assert status == 200 and body["user"]["name"] == "Ada L." and body["user"]["profile"] == "likes math"
    assert chat.call("PUT", "/users/me", {"name": 3}, key=key)[1]["type"] == "InvalidPayload"
    conversation = chat.conversation(key)
    assert chat.call("DELETE", "/users/me", key=key) == (200, {})
    assert chat.call("GET", "/users/me", key=key)[0] == 404
    _, other = chat.user()
    assert chat.call("GET", f"/conversations/{conversation}", key=other)[0] == 404  # deleted with its user


def test_participants_and_deleting_a_conversation(chat):
    _, owner = chat.user()
    guest_id, guest = chat.user(name="Guest")
    conversation = chat.conversation(owner)
    status, body = chat.call("POST", f"/conversations/{conversation}/participants", {"userId": guest_id}, key=owner)
    assert status == 200 and body["participant"]["name"] == "Guest"
    assert chat.call("POST", f"/conversations/{conversation}/participants", {"userId": "nobody"}, key=owner)[0] == 404
    listed = chat.call("GET", f"/conversations/{conversation}/participants", key=guest)[1]["participants"]
    assert len(listed) == 2
    assert chat.call("GET", f"/conversations/{conversation}/participants/{guest_id}", key=owner)[0] == 200
    status, sent = chat.say(guest, conversation, "from the guest")
    assert status == 201
    assert sent["message"]["userId"] == guest_id
    assert chat.call("DELETE", f"/conversations/{conversation}/participants/{guest_id}", key=owner) == (200, {})
    assert chat.call("GET", f"/conversations/{conversation}/participants/{guest_id}", key=owner)[0] == 404
    assert chat.say(guest, conversation, "again")[0] == 403
    assert chat.call("DELETE", f"/conversations/{conversation}", key=owner) == (200, {})
    assert chat.call("GET", f"/conversations/{conversation}", key=owner)[0] == 404
    assert not Message.objects.filter(conversation__external_id=conversation).exists()


def test_the_chat_api_does_not_see_other_channels(chat):
    from runtime import turns

    user = turns.get_or_create_user(chat.row.bot, "web-user")
    turns.start_conversation(chat.row.bot, user, external_id="webchat-conv", channel="webchat")
    key = _key(chat, "web-user")
    assert chat.call("POST", "/users/get-or-create", key=key)[0] == 201
    status, body = chat.call("GET", "/conversations/webchat-conv", key=key)
    assert status == 404
    status, body = chat.call("POST", "/conversations/get-or-create", {"id": "webchat-conv"}, key=key)
    assert (status, body["type"]) == (409, "AlreadyExists")


def _key(chat, user_id):
    from integrations.chat_api import auth

    return auth.user_key(chat.row.encryption_key, user_id)


def test_too_many_requests_are_429_with_retry_headers(chat, settings):
    settings.CHAT_API_RATE_LIMIT = 2  # per second, bursts of 4
    _, key = chat.user()
    statuses = [chat.call("GET", "/users/me", key=key)[0] for _ in range(8)]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses
    status, headers, content = asgi_client.request("GET", chat.prefix + "/users/me", headers={"x-user-key": key})
    body = json.loads(content)
    assert (status, body["type"], body["code"]) == (429, "RateLimited", 429)
    assert int(headers["retry-after"]) >= 1 and headers["ratelimit-limit"] == "2"
    # Another user is not held back by this one.
    other_key = chat.user()[1]
    assert chat.call("GET", "/users/me", key=other_key)[0] == 200
