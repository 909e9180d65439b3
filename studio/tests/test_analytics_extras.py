"""Analytics beyond the daily totals (docs/dashboard.md, "Analytics"): custom events of Track
Event cards per day, NLU intents matched and `none`, capture completion and drop-off per card,
background workflows finished, and messages and users per hour of day. Real turns of a
published bot are seeded over two days, rolled up by `runtime.analytics.roll_up`, and the
page's data must equal the seeded figures exactly."""
import json
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from flows import services
from runtime import analytics, turns
from runtime.models import Conversation, DailyCount, EndUser, Event, Message, WorkflowRun
from runtime.tests.bots import _bot, _flow
from runtime.tests.test_capture_conversations import LIBRARY
from studio.people import workspaces
from studio.tests.test_analytics import at

pytestmark = pytest.mark.django_db

TRACK = "where is my parcel? the order number is AB-1234"


def tracking_bot(name="Orders"):
    """Asks what the user wants; a tracking request is counted (`order_tracked`, value 2) and
    asks for an email (capture card `cap-mail`, no retries); anything else is counted as
    `fallback`. Both end the dialog."""
    return {**_bot(name, [_flow("main", [
        {"id": "start", "kind": "start", "next": "ask"},
        {"id": "ask", "kind": "standard", "cards": [
            {"id": "ask-text", "type": "text", "text": "How can I help?"},
            {"id": "ask-wait", "type": "wait"},
            {"id": "is-track", "type": "intent", "intent": "track_order", "next": "track"},
        ], "next": "other"},
        {"id": "track", "kind": "standard", "cards": [
            {"id": "count-track", "type": "trackEvent", "name": "order_tracked", "value": "2",
             "properties": {"said": "{{event.preview}}"}},
            {"id": "cap-mail", "type": "capture", "capture": "email", "variable": "workflow.email",
             "prompt": "Your email?", "retries": 0},
            {"id": "thanks", "type": "text", "text": "Thanks."},
        ], "next": "end"},
        {"id": "other", "kind": "standard", "cards": [
            {"id": "count-other", "type": "trackEvent", "name": "fallback"},
            {"id": "sorry", "type": "text", "text": "Sorry."},
        ], "next": "end"},
        {"id": "end", "kind": "end"},
    ])]), "intents": LIBRARY}


@pytest.fixture
def owner():
    return get_user_model().objects.create_user("ann@example.com", "ann@example.com", "a-long-pass-phrase-1")


@pytest.fixture
def bot(owner):
    bot = services.import_bot(tracking_bot(), workspace=workspaces.create_workspace(owner, "Acme"))
    services.publish(bot)
    return bot


def talk(bot, user_id, day, hour, *texts, channel="webchat"):
    """A conversation of real turns, moved to `day` at `hour` (server time) afterwards."""
    user = turns.get_or_create_user(bot, user_id)
    conversation = turns.start_conversation(bot, user, channel=channel)
    for text in texts:
        outcome = turns.send_user_message(conversation, text)
        assert not outcome.failed, outcome.error
    when = at(day, hour)
    Conversation.objects.filter(pk=conversation.pk).update(created_at=when)
    Message.objects.filter(conversation=conversation).update(created_at=when)
    Event.objects.filter(conversation=conversation).update(created_at=when)
    EndUser.objects.filter(pk=user.pk).update(created_at=when)
    return conversation


def run(bot, name, status, finished, *, draft=False):
    WorkflowRun.objects.create(id=uuid.uuid4(), bot=bot, name=name, status=status, is_draft=draft,
                               finished_at=finished)


def seed(bot, today):
    """d1: ann tracks an order and gives her email (09:00); bob tracks one and leaves at the
    email question (21:00). d2: cat asks something else on the API (09:00); dan tracks one
    and gives no email, out of retries (09:00). Workflows: two order_sync completed on d1, one
    failed and one refund completed on d2; a draft run and a running one are not counted."""
    d1, d2 = today - timedelta(days=2), today - timedelta(days=1)
    talk(bot, "ann", d1, 9, "hi", TRACK, "ada@example.com")
    talk(bot, "bob", d1, 21, "hi", TRACK)
    talk(bot, "cat", d2, 9, "hi", "what's the capital of France?", channel="api")
    talk(bot, "dan", d2, 9, "hi", TRACK, "no thanks")
    run(bot, "order_sync", "completed", at(d1, 10))
    run(bot, "order_sync", "completed", at(d1, 11))
    run(bot, "order_sync", "failed", at(d2, 10))
    run(bot, "refund", "completed", at(d2, 10))
    run(bot, "refund", "completed", at(d2, 10), draft=True)
    run(bot, "refund", "running", None)
    for day in (d1, d2, today):
        analytics.roll_up(day)
    return d1, d2


def page_data(client, bot, **query):
    response = client.get(f"/bots/{bot.pk}/analytics/", query)
    assert response.status_code == 200, response.content[:500]
    html = response.content.decode()
    return json.loads(re.search(r'<script id="analytics-data" type="application/json">(.*?)</script>', html,
                                re.S).group(1)), html


def test_the_rollup_writes_named_counts_per_day_and_channel(bot):
    d1, d2 = seed(bot, timezone.localdate())
    got = {(row.day, row.channel, row.kind, row.name): (row.count, row.total)
           for row in DailyCount.objects.filter(bot=bot)}
    assert got == {
        (d1, "webchat", "intent", "none"): (3, 0), (d1, "webchat", "intent", "track_order"): (2, 0),
        (d1, "webchat", "event", "order_tracked"): (2, 4.0),
        (d1, "webchat", "capture_started", "cap-mail"): (2, 0), (d1, "webchat", "capture_completed", "cap-mail"): (1, 0),
        (d1, "", "workflow_completed", "order_sync"): (2, 0),
        (d1, "webchat", "hour_messages", "09"): (3, 0), (d1, "webchat", "hour_users", "09"): (1, 0),
        (d1, "webchat", "hour_messages", "21"): (2, 0), (d1, "webchat", "hour_users", "21"): (1, 0),
        (d2, "api", "intent", "none"): (2, 0), (d2, "api", "event", "fallback"): (1, 0),
        (d2, "api", "hour_messages", "09"): (2, 0), (d2, "api", "hour_users", "09"): (1, 0),
        (d2, "webchat", "intent", "none"): (2, 0), (d2, "webchat", "intent", "track_order"): (1, 0),
        (d2, "webchat", "event", "order_tracked"): (1, 2.0),
        (d2, "webchat", "capture_started", "cap-mail"): (1, 0), (d2, "webchat", "capture_failed", "cap-mail"): (1, 0),
        (d2, "webchat", "hour_messages", "09"): (3, 0), (d2, "webchat", "hour_users", "09"): (1, 0),
        (d2, "", "workflow_completed", "refund"): (1, 0), (d2, "", "workflow_failed", "order_sync"): (1, 0),
    }
    analytics.roll_up(d1)  # again: the same rows, not twice as many
    assert DailyCount.objects.filter(bot=bot, day=d1).count() == 10


def test_the_page_shows_custom_events_intents_captures_workflows_and_hours(client, owner, bot):
    today = timezone.localdate()
    d1, d2 = seed(bot, today)
    client.force_login(owner)
    data, html = page_data(client, bot, since=d1.isoformat(), until=today.isoformat())
    assert data["customEvents"] == {"fallback": {"perDay": [0, 1, 0], "count": 1, "value": 0},
                                    "order_tracked": {"perDay": [2, 1, 0], "count": 3, "value": 6.0}}
    assert data["intents"] == {"counts": {"none": 7, "track_order": 3}, "matched": 3, "none": 7}
    assert data["captures"] == {"cap-mail": {"started": 3, "completed": 1, "failed": 1, "droppedOff": 1,
                                             "completionRate": 0.3333}}
    assert data["workflows"] == {"perWorkflow": {"order_sync": {"completed": 2, "failed": 1},
                                                 "refund": {"completed": 1, "failed": 0}},
                                 "completedPerDay": [2, 1, 0], "failedPerDay": [0, 1, 0]}
    hours = dict.fromkeys(range(24), 0)
    assert data["hours"]["labels"][9] == "09"
    assert data["hours"]["messages"] == list({**hours, 9: 8, 21: 2}.values())
    assert data["hours"]["users"] == list({**hours, 9: 3, 21: 1}.values())
    # The figures are on the page as text too.
    assert 'data-event="order_tracked"' in html and 'data-intents="matched">3<' in html
    assert 'data-capture="cap-mail"' in html and 'data-workflow="order_sync"' in html

    api, _ = page_data(client, bot, since=d1.isoformat(), until=today.isoformat(), channel="api")
    assert api["customEvents"] == {"fallback": {"perDay": [0, 1, 0], "count": 1, "value": 0}}
    assert api["intents"]["counts"] == {"none": 2} and api["captures"] == {}
    assert api["workflows"]["perWorkflow"] == {}  # runs outside a conversation have no channel


def test_a_turn_stores_its_facts_and_a_turn_without_any_stores_none(bot):
    user = turns.get_or_create_user(bot, "eve")
    conversation = turns.start_conversation(bot, user)
    turns.send_user_message(conversation, "hi")
    turns.send_user_message(conversation, TRACK)
    facts = list(Event.objects.filter(conversation=conversation).order_by("seq").values_list("facts", flat=True))
    assert facts == [{"intent": "none"},
                     {"intent": "track_order", "tracked": [["order_tracked", 2.0]], "captures": [["cap-mail", "started"]]}]
    assert set(Event.objects.filter(conversation=conversation).values_list("bot_id", flat=True)) == {bot.pk}


def test_turn_facts_keep_the_intent_and_capture_outcomes_but_not_retries():
    trace = [{"type": "nlu", "intent": "track_order", "confidence": 0.9},
             {"type": "capture_started", "card": "cap"}, {"type": "capture_failed", "card": "cap", "retriesLeft": 1},
             {"type": "captured", "card": "cap"}, {"type": "capture_started", "card": "other"},
             {"type": "capture_failed", "card": "other", "reason": "cancelled by the user"}]
    assert analytics.turn_facts(trace) == {"intent": "track_order", "captures": [
        ["cap", "started"], ["cap", "completed"], ["other", "started"], ["other", "failed"]]}
    assert analytics.turn_facts([{"type": "card", "card": "x"}]) is None
    assert analytics.turn_facts([{"type": "tracked", "name": "faq.opened"}]) == {"tracked": [["faq.opened", None]]}
