"""Where people configure AI, in Chromium: the workspace's AI page (providers with a write-only
key, MCP servers with a Test that asks the server for its tools) and the editor's Agents
dialog (the Policy Agent and the bot's model, saved with the draft). Screenshots of the AI
page in light and dark go to tests/browser/artifacts/."""
import copy
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage
from flows import services
from flows.models import Bot
from integrations.llm.mcp_testing import MCPTestServer
from integrations.llm.models import LLMProvider
from integrations.llm.services import save_provider

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
KEY = "sk-browser-key-1a3c5e7b9d"

BOT = {
    "format": "flowstudio.bot/1", "name": "Guarded",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "talk"},
        {"id": "talk", "kind": "standard", "cards": [
            {"id": "answer", "type": "ai_generate_text", "prompt": "{{event.preview}}"},
            {"id": "again", "type": "wait"}], "next": "talk"},
    ]}],
    "layout": {"main": {"start": [0, 0], "talk": [300, 0]}},
}


@pytest.fixture
def owner_page(new_context, login, make_user):
    owner = make_user()
    page = new_context(viewport=VIEWPORT).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    page.owner = owner
    yield page
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def mcp_server():
    server = MCPTestServer().start()
    yield server
    server.stop()


def test_a_provider_is_added_listed_with_its_key_set_and_an_edit_keeps_the_key(owner_page, studio_url):
    page = owner_page
    page.goto(f"{studio_url}/w/{page.owner.workspace.slug}/ai/")
    expect(page.get_by_test_id("no-providers")).to_be_visible()
    page.get_by_text("+ Add provider").click()
    page.fill("#id_new-provider-name", "openai")
    page.fill("#id_new-provider-base_url", "https://api.openai.example/v1")
    page.fill("#id_new-provider-api_key", KEY)
    page.fill("#id_new-provider-models", "gpt-fast, Fast\ngpt-best, Best")
    page.fill("#id_new-provider-default_model", "Fast")
    page.get_by_role("button", name="Add provider").click()

    row = page.locator('[data-testid=provider][data-name="openai"]')
    expect(row.get_by_test_id("key-state")).to_have_text("key set")
    expect(row).to_contain_text("Fast, Best")
    assert KEY not in page.content()

    provider = LLMProvider.objects.get(name="openai")
    row.get_by_text("Edit").click()
    key_field = page.locator(f"#id_p{provider.pk}-api_key")
    expect(key_field).to_have_value("")
    expect(row).to_contain_text("A key is set: leave empty to keep it.")
    page.fill(f"#id_p{provider.pk}-default_model", "Best")
    row.get_by_role("button", name="Save openai").click()
    expect(page.get_by_test_id("providers")).to_contain_text("Provider openai saved.")
    expect(page.locator('[data-testid=provider][data-name="openai"]').get_by_test_id("key-state")).to_have_text("key set")
    provider.refresh_from_db()
    assert (provider.api_key, provider.default_model) == (KEY, "Best")

    # A refusal shows next to its field, in plain words.
    page.get_by_text("+ Add provider").click()
    page.fill("#id_new-provider-name", "has space")
    page.fill("#id_new-provider-base_url", "https://other.example/v1")
    page.get_by_role("button", name="Add provider").click()
    field = page.locator(".field", has=page.locator("#id_new-provider-name"))
    expect(field.locator(".errorlist")).to_contain_text("1 to 64 letters, digits, - or _")


def test_an_mcp_server_is_added_and_test_lists_its_tools(owner_page, studio_url, mcp_server):
    page = owner_page
    slug = page.owner.workspace.slug
    save_provider(page.owner.workspace, {"name": "acme", "base_url": "https://acme.example.com/v1", "api_key": "k",
                                         "models": [{"id": "acme-fast", "label": "Fast"}], "is_default": True})
    page.goto(f"{studio_url}/w/{slug}/ai/")
    page.get_by_text("+ Add MCP server").click()
    page.fill("#id_new-server-name", "local")
    page.fill("#id_new-server-url", mcp_server.url)
    page.fill("#id_new-server-token", "mcp-token-in-the-browser")
    page.get_by_role("button", name="Add MCP server").click()
    row = page.locator('[data-testid=mcp-server][data-name="local"]')
    expect(row.get_by_test_id("token-state")).to_have_text("token set")

    row.get_by_role("button", name="Test").click()
    result = row.get_by_test_id("mcp-test-result")
    expect(result).to_contain_text("echo")
    expect(result).to_contain_text("add")
    assert mcp_server.headers[-1]["authorization"] == "Bearer mcp-token-in-the-browser"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ai-settings-light.png"), full_page=True)
    page.evaluate("localStorage.setItem('flowstudio.theme', 'dark')")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.screenshot(path=str(ARTIFACTS / "ai-settings-dark.png"), full_page=True)
    page.evaluate("localStorage.removeItem('flowstudio.theme')")


def test_the_policy_agent_and_the_bot_model_set_in_the_editor_stay_set(owner_page, studio_url):
    page = owner_page
    workspace = page.owner.workspace
    save_provider(workspace, {"name": "acme", "base_url": "https://acme.example.com/v1", "is_default": True,
                              "models": [{"id": "acme-fast", "label": "Fast"}, {"id": "acme-best", "label": "Best"}]})
    save_provider(workspace, {"name": "local", "base_url": "https://local.example.com/v1",
                              "models": [{"id": "llama3", "label": "Llama"}]})
    bot = services.import_bot(copy.deepcopy(BOT), workspace=workspace, user=page.owner)
    ed = EditorPage(page).open(studio_url, bot)

    page.click("#fs-agents")
    dialog = page.locator("dialog.fs-dialog")
    expect(dialog).to_contain_text("Policy Agent")
    expect(dialog.locator('[name="policy.blockedKeywords"]')).to_be_hidden()
    dialog.locator('[name="policy.enabled"]').check()
    dialog.locator('[name="policy.blockedKeywords"]').fill("refund\nlawsuit")
    dialog.locator('[name="llm.provider"]').select_option("local")
    dialog.locator('[name="llm.model.local"]').select_option("Llama")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor-agents-dialog.png"))
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)
    ed.saved()

    draft = Bot.objects.get(pk=bot.pk).draft
    assert draft["agents"] == {"policy": {"enabled": True, "blockedKeywords": ["refund", "lawsuit"]}}
    assert draft["settings"]["llm"] == {"provider": "local", "model": "Llama"}

    ed.open(studio_url, bot)
    page.click("#fs-agents")
    expect(dialog.locator('[name="policy.enabled"]')).to_be_checked()
    expect(dialog.locator('[name="policy.blockedKeywords"]')).to_have_value("refund\nlawsuit")
    expect(dialog.locator('[name="llm.provider"]')).to_have_value("local")
    expect(dialog.locator('[name="llm.model.local"]')).to_have_value("Llama")

    # A value the schema refuses is named next to its field before anything is saved.
    dialog.locator('[name="summary.enabled"]').check()
    dialog.locator('[name="summary.turns"]').fill("500")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator('[data-dialog-field="summary.turns"] .fs-field-error')).to_have_text("At most 50")
