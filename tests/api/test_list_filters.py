"""Every documented list filter (docs/rest-api.md: conversations by `userId`, `channel`, `draft`
and `tags`; users and messages by `tags`; pages through `limit` and `nextToken`) answers the
same on every database the studio runs on. The suite runs this file on PostgreSQL with the
rest; scripts/test.sh runs it again on the embedded default (SQLite, no DATABASE_URL), where
`?tags=` used to answer 500 (NotSupportedError: JSON containment)."""
from __future__ import annotations

import json
from urllib.parse import quote

from runtime import turns
from runtime.models import Message


def _url(world, rest: str) -> str:
    return f"/api/v1/bots/{world.bot.pk}{rest}"


def _tags(wanted: dict) -> str:
    return "tags=" + quote(json.dumps(wanted))


def _seed(world):
    other_user = turns.get_or_create_user(world.bot, "visitor-2")
    billing = turns.start_conversation(world.bot, world.end_user, external_id="billing-1", channel="webchat")
    sales = turns.start_conversation(world.bot, other_user, external_id="sales-1", channel="chat-api")
    for conversation, topic in ((world.conversation, "support"), (billing, "billing"), (sales, "sales")):
        conversation.tags = {"topic": topic, "odd key": "with__underscores", "priority": "high"}
        conversation.save(update_fields=["tags"])
    world.end_user.tags = {"plan": "pro", "region": "eu"}
    world.end_user.save(update_fields=["tags"])
    other_user.tags = {"plan": "free", "region": "eu"}
    other_user.save(update_fields=["tags"])
    turns.send_user_message(world.conversation, "second")
    first, second = world.conversation.messages.order_by("seq")[:2]
    Message.objects.filter(pk=first.pk).update(tags={"kind": "greeting"})
    Message.objects.filter(pk=second.pk).update(tags={"kind": "question", "lang": "en"})


def _ids(response, key: str) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(str(item["id"]) for item in response.json()[key])


def test_every_documented_filter_of_conversations_users_and_messages(world, owner_client):
    _seed(world)
    conversations = _url(world, "/conversations")
    cases = {
        "": ["billing-1", "conv-1", "sales-1"],
        "userId=visitor-2": ["sales-1"],
        "channel=webchat": ["billing-1", "conv-1"],
        "draft=false": ["billing-1", "conv-1", "sales-1"],
        "draft=true": [],
        _tags({"topic": "billing"}): ["billing-1"],
        _tags({"priority": "high", "topic": "sales"}): ["sales-1"],
        _tags({"odd key": "with__underscores"}): ["billing-1", "conv-1", "sales-1"],
        _tags({"topic": "billing", "priority": "low"}): [],
        _tags({"nope": "x"}): [],
        _tags({}): ["billing-1", "conv-1", "sales-1"],
        "channel=webchat&userId=visitor-1&" + _tags({"topic": "support"}): ["conv-1"],
    }
    for query, expected in cases.items():
        assert _ids(owner_client.get(f"{conversations}?{query}"), "conversations") == expected, query

    users = _url(world, "/users")
    assert _ids(owner_client.get(f"{users}?{_tags({'plan': 'pro'})}"), "users") == ["visitor-1"]
    assert _ids(owner_client.get(f"{users}?{_tags({'region': 'eu'})}"), "users") == ["visitor-1", "visitor-2"]

    messages = _url(world, "/conversations/conv-1/messages")
    found = owner_client.get(f"{messages}?{_tags({'kind': 'question'})}").json()["messages"]
    assert [m["tags"] for m in found] == [{"kind": "question", "lang": "en"}]
    assert owner_client.get(f"{messages}?{_tags({'kind': 'question', 'lang': 'fr'})}").json()["messages"] == []


def test_tag_filters_page_through_every_match(world, owner_client):
    _seed(world)
    url = _url(world, "/conversations?limit=1&" + _tags({"priority": "high"}))
    seen, page = [], owner_client.get(url).json()
    while True:
        seen += [c["id"] for c in page["conversations"]]
        token = page["meta"].get("nextToken")
        if not token:
            break
        page = owner_client.get(f"{url}&nextToken={token}").json()
    assert sorted(seen) == ["billing-1", "conv-1", "sales-1"]
