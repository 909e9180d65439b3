"""Conversations, messages and end users of a bot: cursor pagination, filters, tags, deletes."""
import pytest

from runtime import turns
from runtime.models import Conversation, EndUser, Event, Message

pytestmark = pytest.mark.django_db


def _bot_url(world, tail=""):
    return f"/api/v1/bots/{world.bot.pk}{tail}"


def _all_pages(client, url, key, limit):
    seen, token, pages = [], None, 0
    while True:
        query = f"?limit={limit}" + (f"&nextToken={token}" if token else "")
        body = client.get(url + query).json()
        seen += body[key]
        pages += 1
        token = body["meta"]["nextToken"]
        if token is None:
            return seen, pages


def test_cursor_pagination_walks_every_conversation_once_newest_first(world, owner_client):
    for index in range(12):
        user = turns.get_or_create_user(world.bot, f"walker-{index}")
        turns.start_conversation(world.bot, user, external_id=f"walk-{index:02d}")
    conversations, pages = _all_pages(owner_client, _bot_url(world, "/conversations"), "conversations", 5)
    ids = [c["id"] for c in conversations]
    assert len(ids) == 13 and len(set(ids)) == 13 and pages == 3
    assert ids[0] == "walk-11" and ids[-1] == "conv-1"


def test_pages_stay_stable_when_rows_arrive_or_go_between_calls(world, owner_client):
    for index in range(6):
        turns.start_conversation(world.bot, world.end_user, external_id=f"c{index}")
    url = _bot_url(world, "/conversations")
    first = owner_client.get(url + "?limit=3").json()
    assert [c["id"] for c in first["conversations"]] == ["c5", "c4", "c3"]
    turns.start_conversation(world.bot, world.end_user, external_id="newer")  # lands before the cursor
    Conversation.objects.filter(external_id="c3").delete()  # the cursor's own row goes away
    second = owner_client.get(url + f"?limit=3&nextToken={first['meta']['nextToken']}").json()
    assert [c["id"] for c in second["conversations"]] == ["c2", "c1", "c0"]


@pytest.mark.parametrize("query,path", [
    ("limit=0", "$query.limit"), ("limit=101", "$query.limit"), ("limit=abc", "$query.limit"),
    ("nextToken=garbage!!", "$query.nextToken"), ("nextToken=WyJ4Il0", "$query.nextToken"),
    ("tags=notjson", "$query.tags"), ("tags=[1]", "$query.tags"), ("draft=maybe", "$query.draft"),
])
def test_bad_list_parameters_are_400_with_their_name(world, owner_client, query, path):
    response = owner_client.get(_bot_url(world, f"/conversations?{query}"))
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["path"] == path


def test_conversation_detail_filters_and_tags(world, owner_client):
    url = _bot_url(world, "/conversations/conv-1")
    body = owner_client.get(url).json()
    assert body == {**body, "id": "conv-1", "userId": "visitor-1", "channel": "webchat", "draft": False, "tags": {}}
    assert body["messageCount"] == 2  # the user's "hello" and the bot's answer

    tagged = owner_client.patch(url, {"tags": {"topic": "billing", "priority": "high"}}, format="json").json()
    assert tagged["tags"] == {"topic": "billing", "priority": "high"}
    merged = owner_client.patch(url, {"tags": {"priority": None, "lastActivity": "2026-01-01"}}, format="json").json()
    assert merged["tags"] == {"topic": "billing", "lastActivity": "2026-01-01"}

    turns.start_conversation(world.bot, world.end_user, external_id="other", channel="api")
    list_url = _bot_url(world, "/conversations")
    assert [c["id"] for c in owner_client.get(list_url + '?tags={"topic":"billing"}').json()["conversations"]] == ["conv-1"]
    assert [c["id"] for c in owner_client.get(list_url + "?channel=api").json()["conversations"]] == ["other"]
    assert len(owner_client.get(list_url + "?userId=visitor-1").json()["conversations"]) == 2
    assert owner_client.get(list_url + "?draft=true").json()["conversations"] == []


@pytest.mark.parametrize("tags,path", [
    ({"bad key": "x"}, '$.tags["bad key"]'), ({"n": 5}, "$.tags.n"), ({"long": "x" * 501}, "$.tags.long"),
])
def test_bad_tags_name_the_tag(world, owner_client, tags, path):
    response = owner_client.patch(_bot_url(world, "/conversations/conv-1"), {"tags": tags}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["path"] == path


def test_messages_transcript_tags_and_delete(world, owner_client):
    turns.send_user_message(world.conversation, "second")
    messages, _ = _all_pages(owner_client, _bot_url(world, "/conversations/conv-1/messages"), "messages", 3)
    assert [(m["direction"], m["payload"].get("text")) for m in messages] == [
        ("incoming", "hello"), ("outgoing", "You said hello"), ("incoming", "second"), ("outgoing", "You said second")]
    assert messages[0]["userId"] == "visitor-1" and messages[1]["userId"] == str(world.bot.pk)
    first = messages[0]["id"]
    tagged = owner_client.patch(_bot_url(world, f"/messages/{first}"), {"tags": {"reviewed": "yes"}}, format="json")
    assert tagged.json()["tags"] == {"reviewed": "yes"}
    assert owner_client.delete(_bot_url(world, f"/messages/{first}")).status_code == 204
    assert owner_client.get(_bot_url(world, f"/messages/{first}")).status_code == 404
    assert Event.objects.filter(conversation=world.conversation, seq=messages[0]["seq"]).exists()  # event log stays
    # A message of another bot's conversation is not reachable through this bot.
    other_user = turns.get_or_create_user(world.other_bot, "x")
    other = turns.start_conversation(world.other_bot, other_user)
    turns.receive_event(other, "text", {"text": "hi"})
    foreign = Message.objects.get(conversation=other)
    assert owner_client.get(_bot_url(world, f"/messages/{foreign.pk}")).status_code == 404


def test_users_list_get_update_and_delete(world, owner_client):
    listed = owner_client.get(_bot_url(world, "/users")).json()
    assert [u["id"] for u in listed["users"]] == ["visitor-1"]
    url = _bot_url(world, "/users/visitor-1")
    updated = owner_client.patch(url, {"name": "Vera", "tags": {"language": "fr"}}, format="json").json()
    assert (updated["name"], updated["tags"]) == ("Vera", {"language": "fr"})
    assert "variables" in owner_client.get(url).json()
    assert owner_client.delete(url).status_code == 204
    assert not EndUser.objects.filter(external_id="visitor-1").exists()
    assert not Conversation.objects.filter(external_id="conv-1").exists()  # their conversations go too
    assert owner_client.get(url).status_code == 404


def test_every_list_uses_the_same_page_shape(world, owner_client):
    for url, key in [("/api/v1/workspaces", "workspaces"), (f"/api/v1/workspaces/{world.workspace.slug}/bots", "bots"),
                     (f"/api/v1/workspaces/{world.workspace.slug}/members", "members"),
                     (f"/api/v1/workspaces/{world.workspace.slug}/audit", "entries"), ("/api/v1/tokens", "tokens"),
                     (_bot_url(world, "/versions"), "versions"), (_bot_url(world, "/users"), "users")]:
        body = owner_client.get(url + "?limit=1").json()
        assert set(body) == {key, "meta"} and len(body[key]) == 1, url
        assert isinstance(body["meta"]["nextToken"], (str, type(None)))
