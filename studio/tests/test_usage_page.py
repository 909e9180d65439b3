"""The workspace's Usage page (docs/dashboard.md, "Usage"): the rollups of every bot of the
workspace over the chosen days, what each stores now, and only for the roles that pay."""
import json
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from flows import services
from flows.tables import service as table_service
from runtime import turns
from runtime.models import DailyStats
from runtime.tests.bots import echo_bot
from studio.people import workspaces
from studio.people.models import Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return get_user_model().objects.create_user("ann@example.com", "ann@example.com", "a-long-pass-phrase-1")


@pytest.fixture
def workspace(owner):
    return workspaces.create_workspace(owner, "Acme")


def _bot(workspace, name):
    bot = services.import_bot({**echo_bot(), "name": name}, workspace=workspace)
    services.publish(bot)
    return bot


def _usage(client, workspace, **query):
    response = client.get(f"/w/{workspace.slug}/usage/", query)
    data = response.content.decode()
    start = data.find('id="usage-data"')
    return response, (json.loads(data[data.index(">", start) + 1:data.index("</script>", start)]) if start > 0 else None)


def test_usage_sums_each_bots_rollups_over_the_range_and_counts_what_it_stores(client, owner, workspace):
    shop, desk = _bot(workspace, "Shop"), _bot(workspace, "Desk")
    elsewhere = _bot(workspaces.create_workspace(owner, "Elsewhere"), "Theirs")
    today = timezone.localdate()
    for bot, day, channel, figures in [
        (shop, today, "webchat", dict(conversations=3, messages_in=10, messages_out=12, llm_tokens=500, llm_cost=0.01)),
        (shop, today, "telegram", dict(conversations=1, messages_in=2, messages_out=2)),
        (shop, today - timedelta(days=40), "webchat", dict(conversations=99, messages_in=99)),  # out of range
        (desk, today, "api", dict(conversations=2, messages_in=4, messages_out=4, llm_tokens=100, llm_cost=0.002)),
        (elsewhere, today, "api", dict(conversations=50)),  # another workspace
    ]:
        DailyStats.objects.create(bot=bot, day=day, channel=channel, **figures)
    conversation = turns.start_conversation(shop, turns.get_or_create_user(shop, "ada"), channel="webchat")
    turns.send_user_message(conversation, "hello")
    orders = table_service.create_table(shop, {"name": "Orders", "columns": [{"name": "item", "type": "string"}]})
    table_service.insert_row(shop.pk, orders, {"item": "pen"})
    client.force_login(owner)
    response, data = _usage(client, workspace, since=(today - timedelta(days=7)).isoformat(), until=today.isoformat())
    assert response.status_code == 200
    by_name = {row["name"]: row for row in data["bots"]}
    assert sorted(by_name) == ["Desk", "Shop"]
    assert {k: by_name["Shop"][k] for k in ("conversations", "messagesIn", "messagesOut", "llmTokens")} == \
        {"conversations": 4, "messagesIn": 12, "messagesOut": 14, "llmTokens": 500}
    assert by_name["Shop"]["stored"] == {"conversations": 1, "messages": 2, "tableRows": 1, "knowledgePassages": 0}
    assert data["totals"]["conversations"] == 6 and data["totals"]["llmCost"] == pytest.approx(0.012)
    assert data["totals"]["stored"]["messages"] == 2


def test_the_range_is_this_month_by_default_and_a_bad_one_is_named(client, owner, workspace):
    client.force_login(owner)
    response, data = _usage(client, workspace)
    today = timezone.localdate()
    assert (data["since"], data["until"]) == (date(today.year, today.month, 1).isoformat(), today.isoformat())
    response, _ = _usage(client, workspace, since="2026-13-01")
    assert response.status_code == 400 and "since: &#x27;2026-13-01&#x27; is not a date" in response.content.decode()


def test_a_billing_manager_sees_usage_in_the_nav_and_a_developer_does_not(client, workspace):
    for role, shown in ((Role.BILLING_MANAGER, True), (Role.DEVELOPER, False)):
        user = get_user_model().objects.create_user(f"{role}@example.com", f"{role}@example.com", "pass-phrase-x1")
        Membership.objects.create(workspace=workspace, user=user, role=role)
        client.force_login(user)
        page = client.get(f"/w/{workspace.slug}/")
        assert (f'href="/w/{workspace.slug}/usage/"' in page.content.decode()) is shown
        assert client.get(f"/w/{workspace.slug}/usage/").status_code == (200 if shown else 403)
