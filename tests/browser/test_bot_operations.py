"""The operator's Logs and Issues pages in a real browser: a published card that throws makes
a turn fail, the operator finds it under Issues (grouped, counted, with a sample
conversation) and marks it resolved; and a new log line shows up by itself in the Logs
page's live tail while the page is open."""
import copy

import pytest
from playwright.sync_api import expect

from flows import services as flow_services
from runtime import turns
from runtime.models import Issue
from runtime.tests.bots import echo_bot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def broken_bot(workspace):
    definition = copy.deepcopy(echo_bot("Support"))
    definition["flows"][0]["nodes"][1]["cards"][0]["code"] += (
        'console.log("heard " + event.preview);'
        'const m = /order (\\d+)/.exec(event.preview);'
        'if (m) throw new Error("order " + m[1] + " not found");')
    bot = flow_services.import_bot(definition, workspace=workspace)
    flow_services.publish(bot)
    return bot


def talk(bot, user_id, *texts):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, user_id), channel="webchat")
    for text in texts:
        turns.send_user_message(conversation, text)
    return conversation


def test_an_error_of_a_published_card_is_an_issue_the_operator_resolves(page, studio_url, make_user, login):
    owner = make_user(name="Olga")
    bot = broken_bot(owner.workspace)
    talk(bot, "ann", "hello", "where is order 1234")
    failing = talk(bot, "bob", "order 77?")
    login(page, owner)
    page.goto(f"/bots/{bot.pk}/")
    page.get_by_role("link", name="Issues", exact=True).click()
    rows = page.locator("[data-testid=issues] tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.get_by_test_id("pattern")).to_contain_text("order <n> not found")
    expect(row.get_by_test_id("count")).to_have_text("2")
    expect(row).to_contain_text("card remember")
    expect(row.get_by_test_id("new-since-publish")).to_be_visible()
    expect(row.get_by_role("link", name="conversation")).to_have_attribute(
        "href", f"/bots/{bot.pk}/conversations/{failing.pk}/")

    row.get_by_role("button", name="Mark resolved").click()
    expect(page.get_by_test_id("issues-empty")).to_have_text("No open issues.")
    assert Issue.objects.get(bot=bot).resolved_at is not None
    page.get_by_role("link", name="Resolved").click()
    expect(page.locator("[data-testid=issues] tbody tr").get_by_test_id("resolved")).to_be_visible()


def test_the_logs_page_tails_new_lines_and_filters_by_level(page, studio_url, make_user, login):
    """The tail over its websocket: the poll stands still while the socket is open."""
    owner = make_user(name="Olga")
    bot = broken_bot(owner.workspace)
    talk(bot, "ann", "hello")
    login(page, owner)
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/logs/tail/" in request.url else None)
    page.goto(f"/bots/{bot.pk}/logs/")
    lines = page.get_by_test_id("log-line")
    expect(lines).to_have_count(1)
    expect(lines.first).to_contain_text("heard hello")
    expect(page.locator("html[data-log-socket=open]")).to_have_count(1)

    talk(bot, "bob", "anyone there?")  # while the page is open
    expect(lines).to_have_count(2, timeout=8000)
    expect(lines.first).to_contain_text("heard anyone there?")
    page.wait_for_timeout(2500)  # longer than a poll's period
    assert polls == []  # the line came over the socket

    page.get_by_label("Level").select_option("error")
    expect(page.get_by_test_id("logs-empty")).to_be_visible()
    assert "level=error" in page.url
    talk(bot, "cat", "order 5")
    expect(lines).to_have_count(1, timeout=8000)  # only the error line of the new turn, not its info
    expect(lines.first).to_contain_text("order 5 not found")


def test_without_a_websocket_the_logs_page_polls(page, studio_url, make_user, login):
    """The fallback: a browser (or proxy) where the socket cannot open still tails, by polling."""
    owner = make_user(name="Olga")
    bot = broken_bot(owner.workspace)
    talk(bot, "ann", "hello")
    login(page, owner)
    page.add_init_script("window.WebSocket = function () { throw new Error('no websockets here'); };")
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/logs/tail/" in request.url else None)
    page.goto(f"/bots/{bot.pk}/logs/")
    lines = page.get_by_test_id("log-line")
    expect(lines).to_have_count(1)
    talk(bot, "bob", "anyone there?")
    expect(lines).to_have_count(2, timeout=8000)
    expect(lines.first).to_contain_text("heard anyone there?")
    assert polls and page.locator("html[data-log-socket]").count() == 0


def test_when_the_socket_drops_the_poll_goes_on_from_its_last_line(page, studio_url, make_user, login):
    owner = make_user(name="Olga")
    bot = broken_bot(owner.workspace)
    talk(bot, "ann", "hello")
    login(page, owner)
    # Keep a handle on the page's sockets, to cut them as a proxy would.
    page.add_init_script("""(() => { const Real = window.WebSocket; window.__sockets = [];
      window.WebSocket = function (url) { const ws = new Real(url); window.__sockets.push(ws); return ws; };
      window.WebSocket.prototype = Real.prototype; })();""")
    page.goto(f"/bots/{bot.pk}/logs/")
    lines = page.get_by_test_id("log-line")
    expect(page.locator("html[data-log-socket=open]")).to_have_count(1)
    talk(bot, "bob", "over the socket")
    expect(lines).to_have_count(2, timeout=8000)
    page.evaluate("() => { window.WebSocket = function () { throw new Error('gone'); }; "
                  "window.__sockets.forEach(ws => ws.close()); }")
    expect(page.locator("html[data-log-socket]")).to_have_count(0)
    talk(bot, "cat", "by polling")
    expect(lines).to_have_count(3, timeout=8000)  # the poll asks after the socket's last line: no repeats
    expect(lines.first).to_contain_text("heard by polling")
    page.wait_for_timeout(2500)
    expect(lines).to_have_count(3)
