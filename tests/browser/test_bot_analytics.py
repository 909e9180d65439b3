"""The Analytics page in a real browser: a seeded set of conversations over three days is
rolled up, and the charts Chart.js drew carry exactly those figures (read from the charts'
data, not from pixels); switching to the dark theme recolours the charts' text."""
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from flows import services as flow_services
from runtime import analytics
from runtime.tests.bots import echo_bot
from studio.tests.test_analytics import seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHART_DATA = """id => { const c = Chart.getChart(document.getElementById(id));
  return Object.fromEntries(c.data.datasets.map(d => [d.label, d.data])); }"""


def _seeded_and_rolled_up(make_user):
    """A published bot with studio.tests.test_analytics's conversations over three days, rolled up."""
    owner = make_user(name="Olga")
    bot = flow_services.import_bot(echo_bot("Support"), workspace=owner.workspace)
    flow_services.publish(bot)
    today = timezone.localdate()
    d1, d2 = seed(bot, today)
    for day in (d1, d2, today):
        analytics.roll_up(day)
    return owner, bot, (d1, d2, today)


def test_the_charts_show_the_seeded_figures_in_light_and_dark(page, studio_url, make_user, login):
    owner, bot, (d1, d2, today) = _seeded_and_rolled_up(make_user)
    login(page, owner)
    page.goto(f"/bots/{bot.pk}/")
    page.get_by_role("link", name="Analytics").click()
    page.get_by_label("From").fill((today - timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator("[data-total=messagesIn]")).to_have_text("5")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-llm'))")

    days = page.evaluate("() => Chart.getChart(document.getElementById('chart-people')).data.labels")
    assert days == [d1.isoformat(), d2.isoformat(), today.isoformat()]
    assert page.evaluate(CHART_DATA, "chart-people") == {
        "Conversations": [2, 2, 0], "New users": [2, 1, 0], "Returning users": [0, 1, 0]}
    assert page.evaluate(CHART_DATA, "chart-messages") == {
        "Messages in": [3, 2, 0], "Messages out": [3, 2, 0], "Failed turns": [0, 1, 0]}
    assert page.evaluate(CHART_DATA, "chart-llm") == {"Tokens": [0, 120, 0]}
    expect(page.locator("[data-testid=per-channel] tr[data-channel=api] td").nth(2)).to_have_text("1")

    legend = "() => Chart.getChart(document.getElementById('chart-people')).options.plugins.legend.labels.color"
    text = "() => getComputedStyle(document.documentElement).getPropertyValue('--text').trim()"
    page.evaluate("() => document.documentElement.setAttribute('data-theme', 'light')")
    page.wait_for_function(f"() => ({legend})() === ({text})()")
    light = page.evaluate(legend)
    page.evaluate("() => document.documentElement.setAttribute('data-theme', 'dark')")
    page.wait_for_function(f"() => ({legend})() === ({text})()")
    assert page.evaluate(legend) != light  # dark text on a dark page would be unreadable


def test_the_workspace_usage_page_sums_the_same_rollups_per_bot(page, studio_url, make_user, login):
    owner, bot, (d1, d2, today) = _seeded_and_rolled_up(make_user)
    login(page, owner)
    page.goto(f"/bots/{bot.pk}/")
    page.get_by_role("link", name="Usage", exact=True).click()
    page.get_by_label("From").fill((today - timedelta(days=2)).isoformat())
    page.get_by_label("To").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator("[data-testid=usage-totals] [data-total=messagesIn]")).to_have_text("5")
    row = page.locator(f"[data-testid=usage-bots] tr[data-bot='{bot.pk}'] td")
    expect(row.nth(0)).to_have_text("Support")
    expect(row.nth(1)).to_have_text("4")  # conversations, as on the Analytics page
    expect(row.nth(4)).to_have_text("120")  # LLM tokens


def test_the_extra_charts_show_custom_events_intents_captures_workflows_and_hours(page, studio_url, make_user,
                                                                                   login):
    """studio.tests.test_analytics_extras's seeded turns (Track Event cards, intents, a capture
    card, workflow runs, two hours of day), rolled up: each new chart carries those figures."""
    from studio.tests.test_analytics_extras import seed as seed_extras
    from studio.tests.test_analytics_extras import tracking_bot

    owner = make_user(name="Olga")
    bot = flow_services.import_bot(tracking_bot(), workspace=owner.workspace)
    flow_services.publish(bot)
    today = timezone.localdate()
    seed_extras(bot, today)
    login(page, owner)
    page.goto(f"/bots/{bot.pk}/analytics/?since={(today - timedelta(days=2)).isoformat()}")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-hours'))")

    assert page.evaluate(CHART_DATA, "chart-events") == {"fallback": [0, 1, 0], "order_tracked": [2, 1, 0]}
    assert page.evaluate(CHART_DATA, "chart-workflows") == {"Completed": [2, 1, 0], "Failed": [0, 1, 0]}
    labels = "id => Chart.getChart(document.getElementById(id)).data.labels"
    assert page.evaluate(labels, "chart-intents") == ["none", "track_order"]
    assert page.evaluate(CHART_DATA, "chart-intents") == {"Messages": [7, 3]}
    assert page.evaluate(labels, "chart-captures") == ["cap-mail"]
    assert page.evaluate(CHART_DATA, "chart-captures") == {"Completed": [1], "Gave up": [1], "Dropped off": [1]}
    hours = page.evaluate(CHART_DATA, "chart-hours")
    assert page.evaluate(labels, "chart-hours")[9] == "09"
    assert {h: n for h, n in enumerate(hours["Messages in"]) if n} == {9: 8, 21: 2}
    assert {h: n for h, n in enumerate(hours["Users"]) if n} == {9: 3, 21: 1}
    assert page.evaluate(CHART_DATA, "chart-llm-cost") == {"Cost": [0, 0, 0]}
    expect(page.locator("[data-testid=captures] tr[data-capture=cap-mail] td").nth(4)).to_have_text("1")
    expect(page.locator("[data-intents=matched]")).to_have_text("3")
