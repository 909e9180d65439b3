"""The bot dashboard's Conversations and Configuration variables pages through Django's test
client on PostgreSQL: filters, cursor paging past the first page, a full-text search hit,
the transcript with a turn's trace and logs, the exports' contents, and write-only values."""
import copy
import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from flows import services
from flows.models import ConfigValue
from runtime import turns
from runtime.models import Conversation, EndUser
from runtime.tests.bots import echo_bot
from studio.people.models import AuditEntry
from studio.people import workspaces

pytestmark = pytest.mark.django_db


def logging_echo_bot():
    bot = copy.deepcopy(echo_bot("Support"))
    bot["flows"][0]["nodes"][1]["cards"][0]["code"] += 'console.log("heard " + event.preview);'
    return bot


@pytest.fixture
def owner():
    return get_user_model().objects.create_user("ann@example.com", "ann@example.com", "a-long-pass-phrase-1")


@pytest.fixture
def bot(owner):
    workspace = workspaces.create_workspace(owner, "Acme")
    bot = services.import_bot(logging_echo_bot(), workspace=workspace)
    services.publish(bot)
    return bot


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def talk(bot, user_id, *texts, channel="webchat"):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, user_id), channel=channel)
    for text in texts:
        turns.send_user_message(conversation, text)
    return conversation


def listed(client, bot, **query):
    response = client.get(f"/bots/{bot.pk}/conversations/", query)
    assert response.status_code == 200, response.content[:300]
    return response, sorted(c.external_id for c in [row.user for row in response.context["page"].rows])


def test_the_list_shows_channel_user_last_message_tags_and_status(signed_in, bot):
    conversation = talk(bot, "visitor-1", "hello there", "where is my parcel")
    Conversation.objects.filter(pk=conversation.pk).update(tags={"topic": "shipping"},
                                                           handoff_status=Conversation.Handoff.WAITING)
    html = signed_in.get(f"/bots/{bot.pk}/conversations/").content.decode()
    assert "visitor-1" in html and "webchat" in html
    assert "got where is my parcel" in html  # the bot's answer is the last message
    assert "topic=shipping" in html and "waiting for agent" in html


def test_filters_by_channel_status_tag_and_date(signed_in, bot):
    web = talk(bot, "web-user", "hi")
    api = talk(bot, "api-user", "hi", channel="api")
    old = talk(bot, "old-user", "hi", channel="api")
    Conversation.objects.filter(pk=api.pk).update(tags={"vip": "yes"}, handoff_status="with_agent")
    Conversation.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    assert listed(signed_in, bot, channel="api")[1] == ["api-user", "old-user"]
    assert listed(signed_in, bot, status="with_agent")[1] == ["api-user"]
    assert listed(signed_in, bot, tag="vip")[1] == ["api-user"]
    assert listed(signed_in, bot, tag="vip=no")[1] == []
    # A tag key that looks like a lookup name is only a key.
    Conversation.objects.filter(pk=old.pk).update(tags={"contains": "x", "a__b": "y"})
    assert listed(signed_in, bot, tag="contains=x")[1] == ["old-user"]
    assert listed(signed_in, bot, tag="a__b=y")[1] == ["old-user"]
    assert listed(signed_in, bot, tag="a__b")[1] == ["old-user"]
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    assert listed(signed_in, bot, since=since)[1] == ["api-user", "web-user"]
    until = (timezone.localdate() - timedelta(days=30)).isoformat()
    assert listed(signed_in, bot, until=until)[1] == ["old-user"]
    assert web.pk  # the webchat one is in every unfiltered view
    assert listed(signed_in, bot)[1] == ["api-user", "old-user", "web-user"]


def test_the_channel_choices_are_the_channels_this_bots_conversations_came_through(bot, owner):
    from studio import conversations as service

    assert service.channels(bot) == []
    for channel in ("webchat", "api", "telegram", "api"):
        talk(bot, f"{channel}-user-{len(service.channels(bot))}", "hi", channel=channel)
    other = services.import_bot(echo_bot(), workspace=bot.workspace, user=owner)
    services.publish(other, user=owner)
    talk(other, "slack-user", "hi", channel="slack")
    assert service.channels(bot) == ["api", "telegram", "webchat"]


def test_a_bad_filter_is_named_not_a_500(signed_in, bot):
    response = signed_in.get(f"/bots/{bot.pk}/conversations/", {"since": "yesterday"})
    assert response.status_code == 400 and "since: &#x27;yesterday&#x27; is not a date" in response.content.decode()
    response = signed_in.get(f"/bots/{bot.pk}/conversations/", {"cursor": "not-a-cursor"})
    assert response.status_code == 400 and "cursor: not a cursor this page made" in response.content.decode()
    response = signed_in.get(f"/bots/{bot.pk}/conversations/", {"until": "2026-02-30"})
    assert response.status_code == 400 and "until: &#x27;2026-02-30&#x27; is not a date" in response.content.decode()
    response = signed_in.get(f"/bots/{bot.pk}/conversations/", {"status": "asleep"})
    assert response.status_code == 400 and "unknown status" in response.content.decode()


def test_full_text_search_finds_a_conversation_by_a_word_it_contained(signed_in, bot):
    assert connection.vendor == "postgresql"
    talk(bot, "parcel-user", "My parcel never arrived", "still waiting")
    talk(bot, "refund-user", "I want a refund")
    talk(bot, "other-user", "hello")
    assert listed(signed_in, bot, q="parcel")[1] == ["parcel-user"]
    assert listed(signed_in, bot, q="PARCEL arrived")[1] == ["parcel-user"]  # words, any case, any order
    assert listed(signed_in, bot, q="refund")[1] == ["refund-user"]
    assert listed(signed_in, bot, q="got")[1] == ["other-user", "parcel-user", "refund-user"]  # the bot's words too
    assert listed(signed_in, bot, q="elephant")[1] == []
    assert listed(signed_in, bot, q="parce")[1] == []  # whole words, not substrings (docs/dashboard.md)


def _make_conversations(bot, count):
    user = EndUser.objects.create(bot=bot, external_id="many")
    base = timezone.now() - timedelta(hours=1)
    rows = Conversation.objects.bulk_create(
        [Conversation(bot=bot, user=user, external_id=f"c{i:03}", channel="api") for i in range(count)])
    # Two share a start time: paging by (started, id) must neither skip nor repeat one.
    for i, row in enumerate(rows):
        Conversation.objects.filter(pk=row.pk).update(created_at=base + timedelta(seconds=i if i != 31 else 30))
    return rows


def test_cursor_paging_walks_every_conversation_once_past_the_first_page(signed_in, bot):
    _make_conversations(bot, 120)
    seen, cursor, pages = [], "", 0
    while True:
        response = signed_in.get(f"/bots/{bot.pk}/conversations/", {"channel": "api", **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        page = response.context["page"]
        seen += [c.external_id for c in page.rows]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break
        assert f"cursor={cursor}" in response.content.decode() and "channel=api" in response.content.decode()
        assert not cursor.isdigit()  # opaque, not an offset
    assert pages == 3
    assert sorted(seen) == sorted(f"c{i:03}" for i in range(120)) and len(seen) == 120
    assert seen[0] == "c119"  # newest first


def test_the_transcript_shows_messages_and_events_and_a_turns_trace_and_logs(signed_in, bot):
    conversation = talk(bot, "visitor-1", "hello there")
    turns.receive_event(conversation, "custom_ping", {"x": 1})
    html = signed_in.get(f"/bots/{bot.pk}/conversations/{conversation.pk}/").content.decode()
    assert html.index("hello there") < html.index("got hello there")
    assert "custom_ping" in html  # an event between the messages
    event = conversation.events.get(payload__text="hello there")
    assert event.trace and event.logs
    detail = signed_in.get(f"/bots/{bot.pk}/conversations/{conversation.pk}/turns/{event.pk}/")
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "heard hello there" in text  # the code card's console.log
    assert "code_finished" in text or "transitioned" in text  # the engine's trace
    # Another conversation's event is not reachable through this one.
    other = talk(bot, "visitor-2", "hi")
    foreign = other.events.first()
    assert signed_in.get(f"/bots/{bot.pk}/conversations/{conversation.pk}/turns/{foreign.pk}/").status_code == 404


def test_a_conversation_of_another_bot_is_not_found(signed_in, bot, owner):
    other_bot = services.import_bot(logging_echo_bot(), workspace=bot.workspace)
    services.publish(other_bot)
    elsewhere = talk(other_bot, "x", "hi")
    assert signed_in.get(f"/bots/{bot.pk}/conversations/{elsewhere.pk}/").status_code == 404


def test_export_csv_and_json_lines_hold_the_filtered_conversations(signed_in, bot):
    talk(bot, "parcel-user", "My parcel never arrived")
    talk(bot, "=HYPERLINK(\"http://evil\")", "I want a refund")
    response = signed_in.get(f"/bots/{bot.pk}/conversations/export.jsonl", {"q": "parcel"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/x-ndjson")
    assert "support-conversations.jsonl" in response["Content-Disposition"]
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [(r["userId"], r["channel"], r["status"], r["lastMessage"], r["messages"]) for r in lines] == \
        [("parcel-user", "webchat", "bot", "got My parcel never arrived", 2)]
    response = signed_in.get(f"/bots/{bot.pk}/conversations/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    # A cell a spreadsheet would run as a formula is quoted.
    assert sorted(r["userId"] for r in rows) == ["'=HYPERLINK(\"http://evil\")", "parcel-user"]
    assert {r["lastMessage"] for r in rows} == {"got My parcel never arrived", "got I want a refund"}
    assert list(rows[0]) == ["id", "externalId", "channel", "userId", "userName", "status", "startedAt",
                             "lastMessageAt", "lastMessage", "tags", "messages"]
    assert signed_in.get(f"/bots/{bot.pk}/conversations/export.csv", {"until": "soon"}).status_code == 400


def test_export_streams_past_one_chunk(signed_in, bot):
    _make_conversations(bot, 620)
    response = signed_in.get(f"/bots/{bot.pk}/conversations/export.jsonl")
    ids = [json.loads(line)["externalId"] for line in b"".join(response.streaming_content).decode().splitlines()]
    assert len(ids) == 620 and len(set(ids)) == 620


# --- configuration variables --------------------------------------------------------------

def test_set_replace_and_clear_a_value_which_is_never_shown(signed_in, bot, owner):
    services.declare_config_variable(bot, "CRM_KEY", description="CRM API key", user=owner)
    url = f"/bots/{bot.pk}/config/"
    page = signed_in.get(url).content.decode()
    assert "CRM_KEY" in page and "CRM API key" in page and page.count(">not set<") == 2
    signed_in.post(f"{url}CRM_KEY/production/", {"action": "set", "value": "sk-live-secret-1"})
    page = signed_in.get(url).content.decode()
    assert page.count(">not set<") == 1 and ">set<" in page and "sk-live-secret-1" not in page
    assert ConfigValue.objects.get(bot=bot, name="CRM_KEY", environment="production").value == "sk-live-secret-1"
    signed_in.post(f"{url}CRM_KEY/production/", {"action": "set", "value": "sk-live-secret-2"})
    assert ConfigValue.objects.get(bot=bot, name="CRM_KEY", environment="production").value == "sk-live-secret-2"
    shown = signed_in.post(f"{url}CRM_KEY/production/", {"action": "clear"}, follow=True).content.decode()
    assert "CRM_KEY (production) cleared" in shown and shown.count(">not set<") == 2
    assert not ConfigValue.objects.filter(bot=bot).exists()
    entries = AuditEntry.objects.filter(action__startswith="config.").order_by("pk")
    assert [(e.action, e.details) for e in entries] == [
        ("config.set", {"name": "CRM_KEY", "environment": "production"}),
        ("config.set", {"name": "CRM_KEY", "environment": "production"}),
        ("config.delete", {"name": "CRM_KEY", "environment": "production"}),
    ]
    assert not any("sk-live" in json.dumps(e.details) for e in entries)


def test_an_undeclared_name_or_an_empty_value_is_refused_with_a_message(signed_in, bot, owner):
    shown = signed_in.post(f"/bots/{bot.pk}/config/NOPE/draft/", {"action": "set", "value": "x"}, follow=True).content.decode()
    assert "NOPE" in shown and not ConfigValue.objects.exists()
    services.declare_config_variable(bot, "KEY", user=owner)
    shown = signed_in.post(f"/bots/{bot.pk}/config/KEY/draft/", {"action": "set", "value": ""}, follow=True).content.decode()
    assert "type a value to save" in shown and not ConfigValue.objects.exists()
    assert signed_in.post(f"/bots/{bot.pk}/config/KEY/staging/", {"value": "x"}).status_code == 404


def test_the_dashboard_links_to_both_pages(signed_in, bot):
    html = signed_in.get(f"/bots/{bot.pk}/").content.decode()
    assert f"/bots/{bot.pk}/conversations/" in html and f"/bots/{bot.pk}/config/" in html


def test_a_viewer_reads_set_or_not_set_without_any_control(client, bot, owner):
    from studio.people.models import Membership, Role

    services.declare_config_variable(bot, "CRM_KEY", user=owner)
    services.set_config_value(bot, "CRM_KEY", "production", "sk-live", user=owner)
    viewer = get_user_model().objects.create_user("vic@example.com", "vic@example.com")
    Membership.objects.create(workspace=bot.workspace, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    page = client.get(f"/bots/{bot.pk}/config/").content.decode()
    assert ">set<" in page and ">not set<" in page
    assert 'type="password"' not in page and "Clear" not in page and "sk-live" not in page


def test_an_agents_message_shows_with_the_agents_name_in_the_transcript(signed_in, bot):
    from runtime.models import Message

    conversation = talk(bot, "visitor-1", "hello")
    seq = Message.objects.filter(conversation=conversation).order_by("-seq")[0].seq + 1
    Message.objects.create(conversation=conversation, seq=seq, direction="outgoing", type="text",
                           payload={"text": "Ann here, how can I help?"}, metadata={"agent": {"name": "Ann"}})
    html = signed_in.get(f"/bots/{bot.pk}/conversations/{conversation.pk}/").content.decode()
    assert 'class="transcript-message from-agent"' in html and "Ann here, how can I help?" in html
    assert html.index("got hello") < html.index("Ann here")
