"""The operator's side of a live bot in a real browser: from the bot's dashboard to its
Conversations, find one by a word it contained, open its transcript and a turn's trace and
logs; then set a configuration value and see only that it is "set"."""
import copy

import pytest
from playwright.sync_api import expect

from flows import services as flow_services
from flows.models import ConfigValue
from runtime import turns
from runtime.tests.bots import echo_bot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def support_bot(workspace):
    definition = copy.deepcopy(echo_bot("Support"))
    definition["flows"][0]["nodes"][1]["cards"][0]["code"] += 'console.log("heard " + event.preview);'
    bot = flow_services.import_bot(definition, workspace=workspace)
    flow_services.publish(bot)
    return bot


def talk(bot, user_id, *texts):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, user_id), channel="webchat")
    for text in texts:
        turns.send_user_message(conversation, text)


def test_find_a_conversation_by_a_word_and_read_a_turns_trace(page, studio_url, make_user, login):
    owner = make_user(name="Olga")
    bot = support_bot(owner.workspace)
    talk(bot, "parcel-person", "hello", "my parcel never arrived")
    talk(bot, "refund-person", "I want a refund")
    talk(bot, "quiet-person", "hi")
    login(page, owner)
    page.goto(f"/bots/{bot.pk}/")
    page.get_by_role("link", name="Conversations", exact=True).click()
    rows = page.locator("[data-testid=conversations] tbody tr")
    expect(rows).to_have_count(3)

    page.get_by_label("Search").fill("parcel")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("parcel-person")
    expect(rows).to_contain_text("got my parcel never arrived")
    assert "q=parcel" in page.url  # the filtered list is a link one can share

    rows.get_by_role("link").click()
    transcript = page.locator("[data-testid=transcript]")
    expect(transcript.locator(".inbox-bubble")).to_have_text(
        ["hello", "got hello", "my parcel never arrived", "got my parcel never arrived"])
    turn = transcript.locator("li", has_text="my parcel never arrived").locator("[data-testid=turn]").first
    turn.locator("summary").click()
    expect(turn.locator("[data-testid=logs]")).to_contain_text("heard my parcel never arrived")
    expect(turn.locator("[data-testid=trace]")).to_contain_text("code_finished")


def test_set_a_configuration_value_and_see_only_that_it_is_set(page, studio_url, make_user, login):
    owner = make_user(name="Olga")
    bot = support_bot(owner.workspace)
    flow_services.declare_config_variable(bot, "CRM_KEY", description="CRM API key")
    login(page, owner)
    page.goto(f"/bots/{bot.pk}/")
    page.get_by_role("link", name="Configuration variables").click()
    production = page.locator("tr[data-name=CRM_KEY] td[data-environment=production]")
    expect(production.get_by_test_id("value-state")).to_have_text("not set")
    production.get_by_label("CRM_KEY production value").fill("sk-live-secret")
    production.get_by_role("button", name="Set").click()
    expect(production.get_by_test_id("value-state")).to_have_text("set")
    expect(page.locator("tr[data-name=CRM_KEY] td[data-environment=draft]").get_by_test_id("value-state")).to_have_text("not set")
    expect(page.locator("body")).not_to_contain_text("sk-live-secret")
    assert page.locator("input[type=password]").evaluate_all("els => els.map(e => e.value)") == ["", ""]
    assert ConfigValue.objects.get(bot=bot, name="CRM_KEY", environment="production").value == "sk-live-secret"


def test_the_editors_new_configuration_variable_dialog_points_to_the_values_page(page, studio_url, make_user, login):
    from tests.browser.editor_page import EditorPage

    owner = make_user(name="Olga")
    bot = support_bot(owner.workspace)
    login(page, owner)
    EditorPage(page).open(studio_url, bot)
    page.locator("[data-action=add-config]").click()
    link = page.get_by_role("dialog").get_by_role("link", name="Configuration variables")
    expect(link).to_have_attribute("href", f"/bots/{bot.pk}/config/")
