"""The bot dashboard's Logs, Events, Issues and Chatbot settings pages through Django's test
client on PostgreSQL, with turns run by the real turn service: log lines with their place and
conversation, level and text filters, the live tail's "after", events' escaped JSON, errors
grouped into issues with normalised messages, resolve and reopen, and validated settings."""
import copy
import re

import pytest
from django.contrib.auth import get_user_model

from flows import services
from runtime import issues as issue_service
from runtime import turns
from runtime.models import Issue
from runtime.tests.bots import echo_bot
from studio.people import workspaces
from studio.people.models import AuditEntry

pytestmark = pytest.mark.django_db


def operations_bot():
    """Echoes; logs every message; a message with "order N" makes its code card throw."""
    bot = copy.deepcopy(echo_bot("Support"))
    bot["flows"][0]["nodes"][1]["cards"][0]["code"] += (
        'console.log("heard " + event.preview);'
        'if (event.preview.startsWith("warn")) console.warn("careful: " + event.preview);'
        'const m = /order (\\d+)/.exec(event.preview);'
        'if (m) throw new Error("order " + m[1] + " not found");'
    )
    return bot


@pytest.fixture
def owner():
    return get_user_model().objects.create_user("ann@example.com", "ann@example.com", "a-long-pass-phrase-1")


@pytest.fixture
def bot(owner):
    workspace = workspaces.create_workspace(owner, "Acme")
    bot = services.import_bot(operations_bot(), workspace=workspace)
    services.publish(bot)
    return bot


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def talk(bot, user_id, *texts, draft=False):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, user_id), channel="webchat",
                                            **({"draft": True} if draft else {}))
    for text in texts:
        turns.send_user_message(conversation, text)
    return conversation


def lines(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", m).strip()
            for m in re.findall(r'data-testid="log-line".*?<span class="mono log-message">(.*?)</span>', html, re.S)]


# --- logs ----------------------------------------------------------------------------------

def test_logs_show_every_line_newest_first_with_place_and_conversation(signed_in, bot):
    first = talk(bot, "ann", "hello")
    second = talk(bot, "bob", "warn me", "order 1234 please")
    response = signed_in.get(f"/bots/{bot.pk}/logs/")
    assert response.status_code == 200
    html = response.content.decode()
    shown = lines(html)
    # the engine's error line, last of the newest turn
    assert shown[0].startswith("code exception: Error: order 1234 not found")
    # (the throwing code's own earlier lines go with its failed run, as in the emulator)
    assert shown[1:] == ["careful: warn me", "heard warn me", "heard hello"]
    assert "card <code>remember</code>" in html and "main › loop" in html
    assert f"/bots/{bot.pk}/conversations/{second.pk}/" in html and f"/bots/{bot.pk}/conversations/{first.pk}/" in html


def test_logs_filter_by_level_and_text_and_refuse_a_bad_level(signed_in, bot):
    talk(bot, "ann", "hello", "warn me", "order 7")
    warned = lines(signed_in.get(f"/bots/{bot.pk}/logs/", {"level": "warn"}).content.decode())
    assert len(warned) == 2 and "order 7 not found" in warned[0] and warned[1] == "careful: warn me"
    errors = lines(signed_in.get(f"/bots/{bot.pk}/logs/", {"level": "error"}).content.decode())
    assert len(errors) == 1 and "order 7 not found" in errors[0]
    assert lines(signed_in.get(f"/bots/{bot.pk}/logs/", {"q": "HELLO"}).content.decode()) == ["heard hello"]
    bad = signed_in.get(f"/bots/{bot.pk}/logs/", {"level": "loud"})
    assert bad.status_code == 400 and b"level: unknown level &#x27;loud&#x27;" in bad.content
    assert signed_in.get(f"/bots/{bot.pk}/logs/", {"before": "x"}).status_code == 400


def test_emulator_conversations_are_not_the_published_bots_logs(signed_in, bot):
    talk(bot, "tester", "draft words", draft=True)
    assert lines(signed_in.get(f"/bots/{bot.pk}/logs/").content.decode()) == []


def test_the_live_tail_returns_only_lines_of_later_turns(signed_in, bot):
    talk(bot, "ann", "hello")
    page = signed_in.get(f"/bots/{bot.pk}/logs/").content.decode()
    after = re.search(r'logs/tail/\?after=(\d+)', page).group(1)
    quiet = signed_in.get(f"/bots/{bot.pk}/logs/tail/", {"after": after}).content.decode()
    assert "log-line" not in quiet and f"after={after}" in quiet  # polls on from the same place
    talk(bot, "bob", "second one")
    tail = signed_in.get(f"/bots/{bot.pk}/logs/tail/", {"after": after}).content.decode()
    assert 'hx-swap-oob="afterbegin:#log-lines"' in tail
    assert lines(tail) == ["heard second one"]
    assert f"after={after}" not in tail  # the next poll starts after the new turn


def test_logs_page_past_the_first_page(signed_in, bot, monkeypatch):
    from studio import operations

    monkeypatch.setattr(operations, "PAGE_SIZE", 2)
    talk(bot, "ann", "one", "two", "three")
    html = signed_in.get(f"/bots/{bot.pk}/logs/").content.decode()
    assert lines(html) == ["heard three", "heard two"]
    older = re.search(r'href="\?before=(\d+)"', html).group(1)
    assert lines(signed_in.get(f"/bots/{bot.pk}/logs/", {"before": older}).content.decode()) == ["heard one"]


# --- events --------------------------------------------------------------------------------

def test_events_show_incoming_and_outgoing_json_escaped(signed_in, bot):
    talk(bot, "ann", "<b>hi</b>")
    incoming = signed_in.get(f"/bots/{bot.pk}/events/").content.decode()
    assert "&quot;text&quot;: &quot;&lt;b&gt;hi&lt;/b&gt;&quot;" in incoming
    assert "<b>hi</b>" not in incoming
    outgoing = signed_in.get(f"/bots/{bot.pk}/events/", {"direction": "outgoing"}).content.decode()
    assert "got &lt;b&gt;hi&lt;/b&gt;" in outgoing
    assert signed_in.get(f"/bots/{bot.pk}/events/", {"direction": "sideways"}).status_code == 400


def test_events_filter_by_type(signed_in, bot):
    conversation = talk(bot, "ann", "hello")
    turns.process_event_now(turns.receive_event(conversation, "postback", {"payload": {"step": 2}}))
    html = signed_in.get(f"/bots/{bot.pk}/events/", {"type": "text"}).content.decode()
    assert html.count('data-type="text"') == 1
    postbacks = signed_in.get(f"/bots/{bot.pk}/events/", {"type": "postback"}).content.decode()
    assert postbacks.count('data-type="postback"') == 1 and "&quot;step&quot;: 2" in postbacks
    assert signed_in.get(f"/bots/{bot.pk}/events/", {"type": "nope"}).content.decode().count("data-type=") == 0


# --- issues --------------------------------------------------------------------------------

# What the engine says when the code card throws, with the numbers normalised.
ORDER = "code exception: Error: order <n> not found (line <n>, column <n>)"


def test_pattern_replaces_numbers_and_ids():
    assert issue_service.pattern("order 1234 not found") == "order <n> not found"
    assert issue_service.pattern("user 3f2b1c9e-0000-4a4a-8b8b-1234567890ab took 12.5 s") == "user <id> took <n> s"
    assert issue_service.pattern("hash a1b2c3d4e5f6 v2 ok") == "hash <id> v2 ok"


def test_errors_are_grouped_by_place_and_pattern(signed_in, bot):
    first = talk(bot, "ann", "order 1")
    talk(bot, "bob", "order 22", "order 333")
    html = signed_in.get(f"/bots/{bot.pk}/issues/").content.decode()
    issue = Issue.objects.get(bot=bot)
    assert (issue.kind, issue.flow, issue.node, issue.card, issue.pattern, issue.count) == (
        "bot error", "main", "loop", "remember", ORDER, 3)
    assert issue.sample_message.startswith("code exception: Error: order 333 not found")
    assert issue.first_seen < issue.last_seen
    assert "order &lt;n&gt; not found (line &lt;n&gt;, column &lt;n&gt;)" in html and 'data-testid="count">3<' in html
    assert f"/bots/{bot.pk}/conversations/" in html
    # A second view counts nothing twice.
    signed_in.get(f"/bots/{bot.pk}/issues/")
    assert Issue.objects.get(bot=bot).count == 3
    assert first.pk


def test_a_failed_turn_is_an_issue_of_its_exception(signed_in, bot, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("engine pool 42 is gone")

    monkeypatch.setattr(turns, "run_turn", broken)
    talk(bot, "ann", "hello")
    signed_in.get(f"/bots/{bot.pk}/issues/")
    issue = Issue.objects.get(bot=bot)
    assert (issue.kind, issue.card, issue.pattern) == ("RuntimeError", "", "engine pool <n> is gone")
    logs = signed_in.get(f"/bots/{bot.pk}/logs/", {"level": "error"}).content.decode()
    assert "RuntimeError: engine pool 42 is gone" in logs and "turn failed" in logs


def test_resolve_and_reopen_and_a_new_occurrence_opens_it_again(signed_in, bot, owner):
    talk(bot, "ann", "order 1")
    signed_in.get(f"/bots/{bot.pk}/issues/")
    issue = Issue.objects.get(bot=bot)
    response = signed_in.post(f"/bots/{bot.pk}/issues/{issue.pk}/", {"action": "resolve"})
    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.resolved_at and issue.resolved_by == owner
    assert b"No open issues." in signed_in.get(f"/bots/{bot.pk}/issues/").content
    assert b"order &lt;n&gt;" in signed_in.get(f"/bots/{bot.pk}/issues/", {"state": "resolved"}).content
    talk(bot, "bob", "order 2")
    assert b"order &lt;n&gt;" in signed_in.get(f"/bots/{bot.pk}/issues/").content
    issue.refresh_from_db()
    assert issue.resolved_at is None and issue.count == 2
    assert signed_in.post(f"/bots/{bot.pk}/issues/999999/", {"action": "resolve"}).status_code == 404
    assert signed_in.get(f"/bots/{bot.pk}/issues/", {"state": "weird"}).status_code == 400


def test_a_new_kind_after_a_publish_is_on_top(signed_in, bot):
    talk(bot, "ann", "order 1")
    for _ in range(3):
        talk(bot, "ann", "order 2")
    signed_in.get(f"/bots/{bot.pk}/issues/")
    definition = services.draft_document(bot)
    definition["flows"][0]["nodes"][1]["cards"][0]["code"] += 'if (event.preview === "boom") throw new Error("boom");'
    services.replace_draft(bot, definition, base_revision=None)
    services.publish(bot)
    talk(bot, "cat", "boom")
    talk(bot, "cat", "order 3")  # the old kind is also the most recent: still below the new one
    html = signed_in.get(f"/bots/{bot.pk}/issues/").content.decode()
    patterns = re.findall(r'data-testid="pattern">(.*?)<', html)
    assert len(patterns) == 2 and "Error: boom" in patterns[0] and "order &lt;n&gt; not found" in patterns[1]
    assert html.count('data-testid="new-since-publish"') == 1


def test_errors_are_folded_when_stored_and_a_get_writes_nothing(signed_in, bot):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    talk(bot, "ann", "order 1", "order 2")
    talk(bot, "dev", "order 3", draft=True)  # the emulator's: never an issue
    assert Issue.objects.get(bot=bot).count == 2  # folded after each turn, before any page view
    with CaptureQueriesContext(connection) as queries:
        html = signed_in.get(f"/bots/{bot.pk}/issues/").content.decode()
    assert 'data-testid="count">2<' in html
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) or "FOR UPDATE" in q["sql"]]
    # Signing in touches the session row; nothing else is written.
    assert [sql for sql in writes if "django_session" not in sql] == []


def test_the_beat_task_folds_what_a_turn_left(signed_in, bot, monkeypatch):
    from django.conf import settings

    from runtime import tasks

    assert "runtime.tasks.fold_issues" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    monkeypatch.setattr(issue_service, "fold_after_turn", lambda bot_id: None)  # as if the fold was skipped
    talk(bot, "ann", "order 1")
    assert not Issue.objects.filter(bot=bot).exists()
    assert tasks.fold_issues.apply().get() == 1  # the task as the beat sends it, run here
    assert Issue.objects.get(bot=bot).count == 1
    assert tasks.fold_issues.apply().get() == 0  # nothing counted twice


# --- chatbot settings ----------------------------------------------------------------------

GOOD = {"inactivityTimeoutMinutes": "15", "nodeRepetitionLimit": "5", "languages": "en, fr",
        "defaultLanguage": "fr", "fallbackMessage": "Oops, try again.", "llmProvider": "", "llmModel": "Fast"}


def test_settings_are_saved_to_the_draft_and_audited(signed_in, bot):
    page = signed_in.get(f"/bots/{bot.pk}/settings/")
    assert page.status_code == 200 and b'value="30"' in page.content  # the echo bot's timeout
    response = signed_in.post(f"/bots/{bot.pk}/settings/", GOOD)
    assert response.status_code == 302
    bot.refresh_from_db()
    settings = bot.draft["settings"]
    assert settings["inactivityTimeoutMinutes"] == 15 and settings["nodeRepetitionLimit"] == 5
    assert settings["languages"] == ["en", "fr"] and settings["defaultLanguage"] == "fr"
    assert settings["fallbackMessage"] == "Oops, try again." and settings["llm"] == {"model": "Fast"}
    assert AuditEntry.objects.filter(action="bot.update", details__part="settings").exists()
    assert services.draft_problems(bot) == []


@pytest.mark.parametrize("field, value, message", [
    ("inactivityTimeoutMinutes", "soon", "Inactivity timeout: &#x27;soon&#x27; is not a whole number"),
    ("inactivityTimeoutMinutes", "5000", "Inactivity timeout: 5000 is out of range: use 0 to 1440"),
    ("nodeRepetitionLimit", "0", "Node repetition limit: 0 is out of range: use 1 to 100"),
    ("languages", "en, klingon", "Languages: not ISO 639-1 codes: klingon"),
    ("languages", "", "Languages: name at least one language"),
    ("defaultLanguage", "de", "Default language: &#x27;de&#x27; is not one of the languages (en, fr)"),
    ("llmProvider", "Nope", "Default LLM provider: the workspace has no LLM provider named &#x27;Nope&#x27;"),
])
def test_bad_settings_name_the_field_and_change_nothing(signed_in, bot, field, value, message):
    before = copy.deepcopy(bot.draft)
    response = signed_in.post(f"/bots/{bot.pk}/settings/", {**GOOD, field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert f'data-field="{field}"' in response.content.decode()
    bot.refresh_from_db()
    assert bot.draft == before
