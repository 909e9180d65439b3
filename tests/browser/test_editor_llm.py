"""The editor and LLM providers, in Chromium: a bot with an AI card in a workspace without a
provider shows the error in the problems panel; once the workspace has providers the AI
card's model field offers their models (the bot's provider's by label, the others as
provider/label) and what is picked is saved."""
import copy

import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage
from flows import services
from integrations.llm.services import save_provider

pytestmark = pytest.mark.browser

AI_BOT = {
    "format": "flowstudio.bot/1", "name": "Asker",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "talk"},
        {"id": "talk", "kind": "standard", "cards": [
            {"id": "answer", "type": "ai_generate_text", "prompt": "{{event.preview}}"},
            {"id": "again", "type": "wait"}], "next": "talk"},
    ]}],
    "layout": {"main": {"start": [0, 0], "talk": [300, 0]}},
}


@pytest.fixture
def editor(new_context, login, make_user, studio_url):
    owner = make_user()
    context = new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    bot = services.import_bot(copy.deepcopy(AI_BOT), workspace=owner.workspace, user=owner)
    yield EditorPage(page), bot
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_no_provider_shows_a_problem_then_the_picker_offers_the_workspace_models(editor, studio_url):
    ed, bot = editor
    page = ed.page
    ed.open(studio_url, bot)
    expect(page.locator("#fs-problems-badge")).to_have_text("1 error")
    expect(page.locator("#fs-problems")).to_contain_text("needs an LLM provider")
    ed.card("talk", "ai_generate_text").click()
    expect(ed.field("model")).to_have_attribute("placeholder", "No LLM provider in this workspace")

    save_provider(bot.workspace, {"name": "acme", "base_url": "https://acme.example.com/v1", "is_default": True,
                                  "models": [{"id": "acme-fast", "label": "Fast"}, {"id": "acme-best", "label": "Best"}],
                                  "default_model": "Best"})
    save_provider(bot.workspace, {"name": "local", "base_url": "https://local.example.com/v1",
                                  "default_model": "llama3"})
    ed.open(studio_url, bot)
    expect(page.locator("#fs-problems-badge")).not_to_contain_text("error")
    ed.card("talk", "ai_generate_text").click()
    model = ed.field("model")
    expect(model).to_have_attribute("placeholder", "Default: acme · acme-best")
    options = page.locator(f"datalist#{model.get_attribute('list')} option")
    expect(options).to_have_count(3)
    assert [options.nth(i).get_attribute("value") for i in range(3)] == ["Fast", "Best", "local/llama3"]
    assert options.nth(1).text_content() == "acme · acme-best (default)"

    ed.type_into(model, "local/llama3")
    ed.saved()
    bot.refresh_from_db()
    assert bot.draft["flows"][0]["nodes"][1]["cards"][0]["model"] == "local/llama3"
