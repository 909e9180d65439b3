"""Who may do what: keys, participants, webhook ids. A user key never reaches another
user's conversations or messages, nor another bot's."""
import jwt
import pytest

from .conftest import ChatApi, make_bot


def test_a_wrong_webhook_id_is_404_in_the_client_error_shape(chat):
    chat.prefix += "1234"
    status, body = chat.call("GET", "/hello")
    assert status == 404
    assert body["type"] == "ResourceNotFound" and body["code"] == 404 and body["status"] == 404
    assert body["id"].startswith("err_") and "1234" in body["message"] and body["description"]


@pytest.mark.parametrize("key", [
    None,
    "not-a-jwt",
    jwt.encode({"id": "someone"}, "another-secret-of-enough-length", algorithm="HS256"),
    "signed, but without an id",
])
def test_a_missing_or_bad_user_key_is_401(chat, key):
    if key == "signed, but without an id":
        key = jwt.encode({"name": "no id"}, chat.row.encryption_key, algorithm="HS256")
    for method, path in [("GET", "/users/me"), ("GET", "/conversations"), ("POST", "/conversations")]:
        status, body = chat.call(method, path, key=key)
        assert (status, body["type"]) == (401, "Unauthorized"), (method, path, body)


def test_a_key_signed_by_the_backend_with_the_encryption_key_works(chat):
    key = jwt.encode({"id": "backend-user-1"}, chat.row.encryption_key, algorithm="HS256")
    status, body = chat.call("POST", "/users/get-or-create", key=key)
    assert status == 201 and body["user"]["id"] == "backend-user-1"
    assert chat.call("GET", "/users/me", key=key)[1]["user"]["id"] == "backend-user-1"


def test_another_users_conversations_and_messages_are_out_of_reach(chat):
    _, alice = chat.user()
    _, mallory = chat.user()
    conversation = chat.conversation(alice)
    status, body = chat.say(alice, conversation, "secret")
    message_id = body["message"]["id"]

    for method, path in [
        ("GET", f"/conversations/{conversation}"),
        ("GET", f"/conversations/{conversation}/messages"),
        ("GET", f"/conversations/{conversation}/participants"),
        ("GET", f"/conversations/{conversation}/listen"),
        ("DELETE", f"/conversations/{conversation}"),
        ("GET", f"/messages/{message_id}"),
        ("DELETE", f"/messages/{message_id}"),
    ]:
        status, body = chat.call(method, path, key=mallory)
        assert (status, body["type"]) == (403, "Forbidden"), (method, path, body)
    status, body = chat.say(mallory, conversation, "let me in")
    assert (status, body["type"]) == (403, "Forbidden")
    assert chat.call("GET", "/conversations", key=mallory)[1]["conversations"] == []
    # Still all there for alice.
    assert chat.call("GET", f"/messages/{message_id}", key=alice)[0] == 200


def test_a_participant_may_not_delete_the_conversation_or_another_participants_message(chat):
    _, owner = chat.user()
    guest_id, guest = chat.user()
    conversation = chat.conversation(owner)
    chat.call("POST", f"/conversations/{conversation}/participants", {"userId": guest_id}, key=owner)
    owner_message = chat.say(owner, conversation, "mine")[1]["message"]["id"]

    assert chat.call("DELETE", f"/messages/{owner_message}", key=guest)[0] == 403
    assert chat.call("DELETE", f"/conversations/{conversation}", key=guest)[0] == 403
    assert chat.call("DELETE", f"/messages/{owner_message}", key=owner)[0] == 200
    assert chat.call("GET", f"/messages/{owner_message}", key=owner)[0] == 404


def test_keys_and_ids_of_another_bot_do_not_work_here(chat):
    _, other_row = make_bot(name="Other")
    other = ChatApi(other_row)
    other_user, other_key = other.user()
    other_conversation = other.conversation(other_key)
    other_message = other.say(other_key, other_conversation, "hi")[1]["message"]["id"]

    assert chat.call("GET", "/users/me", key=other_key)[0] == 401  # signed with the other key
    _, key = chat.user(id=other_user)  # the same user id is a different user here
    assert chat.call("GET", f"/conversations/{other_conversation}", key=key)[0] == 404
    assert chat.call("GET", f"/messages/{other_message}", key=key)[0] == 404


def test_a_replaced_key_invalidates_old_user_keys(chat):
    from integrations.chat_api import services

    _, key = chat.user()
    assert chat.call("GET", "/users/me", key=key)[0] == 200
    services.update_chat_api(chat.row.bot, rotate_key=True)
    assert chat.call("GET", "/users/me", key=key)[0] == 401


def test_a_disabled_chat_api_is_404(chat):
    from integrations.chat_api import services

    services.update_chat_api(chat.row.bot, enabled=False)
    assert chat.call("GET", "/hello")[0] == 404


def test_the_conversation_owner_cannot_be_removed(chat):
    owner_id, owner = chat.user()
    conversation = chat.conversation(owner)
    status, body = chat.call("DELETE", f"/conversations/{conversation}/participants/{owner_id}", key=owner)
    assert (status, body["type"]) == (400, "InvalidPayload")


def test_a_removed_participant_can_no_longer_send_even_after_sending_before(chat):
    _, owner = chat.user()
    guest_id, guest = chat.user()
    conversation = chat.conversation(owner)
    assert chat.call("POST", f"/conversations/{conversation}/participants", {"userId": guest_id}, key=owner)[0] == 200
    assert chat.say(guest, conversation, "hi")[0] == 201  # this process now knows the guest takes part

    assert chat.call("DELETE", f"/conversations/{conversation}/participants/{guest_id}", key=owner)[0] == 200
    status, body = chat.say(guest, conversation, "still here?")

    assert (status, body["type"]) == (403, "Forbidden")
    texts = [m["payload"].get("text") for m in
             chat.call("GET", f"/conversations/{conversation}/messages", key=owner)[1]["messages"]]
    assert "still here?" not in texts


def test_a_conversation_deleted_and_made_again_with_the_same_id_takes_the_new_messages(chat):
    _, key = chat.user()
    chat.conversation(key, id="again")
    assert chat.say(key, "again", "first life")[0] == 201
    assert chat.call("DELETE", "/conversations/again", key=key)[0] == 200
    assert chat.say(key, "again", "gone")[0] == 404

    chat.conversation(key, id="again")
    assert chat.say(key, "again", "second life")[0] == 201

    texts = [m["payload"].get("text") for m in chat.call("GET", "/conversations/again/messages", key=key)[1]["messages"]]
    assert "second life" in texts and "first life" not in texts and "gone" not in texts
