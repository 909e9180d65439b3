"""Analytics from daily rollups: `runtime.analytics.roll_up` counts a seeded set of
conversations per day and channel exactly (new and returning users, messages in and out,
failed turns, LLM tokens), is idempotent, runs as the beat task, and the page shows the
figures (in its data and as text) over a chosen range, with bad ranges named."""
import json
import re
from datetime import datetime, time, timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from flows import services
from runtime import analytics, tasks, turns
from runtime.models import Conversation, DailyStats, EndUser, Event, LLMUsage, Message
from runtime.tests.bots import echo_bot
from studio.people import workspaces

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return get_user_model().objects.create_user("ann@example.com", "ann@example.com", "a-long-pass-phrase-1")


@pytest.fixture
def bot(owner):
    bot = services.import_bot(echo_bot("Support"), workspace=workspaces.create_workspace(owner, "Acme"))
    services.publish(bot)
    return bot


def at(day, hour=12):
    return timezone.make_aware(datetime.combine(day, time(hour)), timezone.get_current_timezone())


def seeded_talk(bot, user_id, day, *texts, channel="webchat", user_created=None):
    """A conversation on `day`: its rows are moved there after the real turns ran."""
    user = turns.get_or_create_user(bot, user_id)
    conversation = turns.start_conversation(bot, user, channel=channel)
    for text in texts:
        turns.send_user_message(conversation, text)
    when = at(day)
    Conversation.objects.filter(pk=conversation.pk).update(created_at=when)
    Message.objects.filter(conversation=conversation).update(created_at=when)
    Event.objects.filter(conversation=conversation).update(created_at=when)
    if user_created is not None:
        EndUser.objects.filter(pk=user.pk).update(created_at=at(user_created))
    return conversation


def seed(bot, today):
    d1, d2 = today - timedelta(days=2), today - timedelta(days=1)
    seeded_talk(bot, "ann", d1, "hi", "two", user_created=d1)  # new on d1: 2 in, 2 out
    seeded_talk(bot, "bob", d1, "hey", channel="api", user_created=d1)  # new on d1, api
    seeded_talk(bot, "ann", d2, "back again", user_created=d1)  # returning on d2
    cat = seeded_talk(bot, "cat", d2, "hello", user_created=d2)  # new on d2
    Event.objects.filter(conversation=cat).update(status=Event.Status.FAILED, error="RuntimeError: x")
    LLMUsage.objects.create(bot=bot, conversation=cat, tokens_in=100, tokens_out=20, cost=0.5)
    LLMUsage.objects.filter(conversation=cat).update(created_at=at(d2))
    draft = turns.start_conversation(bot, turns.get_or_create_user(bot, "dev"), draft=True)
    turns.send_user_message(draft, "emulator only")  # today, and never counted
    return d1, d2


def test_roll_up_counts_each_day_and_channel_exactly(bot):
    today = timezone.localdate()
    d1, d2 = seed(bot, today)
    analytics.roll_up(d1)
    analytics.roll_up(d2)
    analytics.roll_up(d2)  # again: same rows
    got = {(row.day, row.channel): {f: getattr(row, f) for f in analytics.ROLLUP_FIELDS}
           for row in DailyStats.objects.filter(bot=bot)}
    zero = dict.fromkeys(analytics.ROLLUP_FIELDS, 0)
    assert got == {
        (d1, "webchat"): {**zero, "conversations": 1, "users_new": 1, "messages_in": 2, "messages_out": 2},
        (d1, "api"): {**zero, "conversations": 1, "users_new": 1, "messages_in": 1, "messages_out": 1},
        (d2, "webchat"): {**zero, "conversations": 2, "users_new": 1, "users_returning": 1, "messages_in": 2,
                          "messages_out": 2, "failed_turns": 1, "llm_tokens": 120, "llm_cost": 0.5},
    }


def test_the_beat_task_rolls_up_today_and_yesterday(bot):
    assert "runtime.tasks.roll_up_analytics" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    today = timezone.localdate()
    seeded_talk(bot, "ann", today, "hi", user_created=today)
    assert tasks.roll_up_analytics.apply().get() >= 1  # the task as the beat sends it, run here
    assert DailyStats.objects.get(bot=bot, day=today).messages_in == 1


def test_the_page_shows_the_figures_of_the_range(client, owner, bot):
    today = timezone.localdate()
    d1, d2 = seed(bot, today)
    analytics.roll_up_recent(today)  # today and d2
    analytics.roll_up(d1)
    client.force_login(owner)
    response = client.get(f"/bots/{bot.pk}/analytics/", {"since": d1.isoformat(), "until": today.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    data = json.loads(re.search(r'<script id="analytics-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert data["days"] == [d1.isoformat(), d2.isoformat(), today.isoformat()]
    assert data["series"]["conversations"] == [2, 2, 0]
    assert data["series"]["messagesIn"] == [3, 2, 0] and data["series"]["messagesOut"] == [3, 2, 0]
    assert data["series"]["usersNew"] == [2, 1, 0] and data["series"]["usersReturning"] == [0, 1, 0]
    assert data["series"]["llmTokens"] == [0, 120, 0] and data["totals"]["failedTurns"] == 1
    assert data["channels"]["api"]["messagesIn"] == 1 and data["channels"]["webchat"]["messagesIn"] == 4
    assert 'data-total="messagesIn">5<' in html
    only_api = client.get(f"/bots/{bot.pk}/analytics/", {"since": d1.isoformat(), "channel": "api"})
    assert 'data-total="conversations">1<' in only_api.content.decode()


@pytest.mark.parametrize("query, message", [
    ({"since": "last week"}, "since: &#x27;last week&#x27; is not a date (YYYY-MM-DD)"),
    ({"since": "2026-03-02", "until": "2026-03-01"}, "since: 2026-03-02 is after until (2026-03-01)"),
    ({"since": "2020-01-01", "until": "2026-01-01"}, "at most 366"),
])
def test_a_bad_range_is_named(client, owner, bot, query, message):
    client.force_login(owner)
    response = client.get(f"/bots/{bot.pk}/analytics/", query)
    assert response.status_code == 400 and message in response.content.decode()
