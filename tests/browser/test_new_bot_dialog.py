"""Issue 20, guidance: a new bot starts from a template picked in the New Bot dialog, opens
in the editor with its flow and no problems, and talks in the emulator; a blank bot's canvas
says where cards come from until it has one."""
import re

import pytest
from playwright.sync_api import expect

from flows.models import Bot
from .editor_page import ARTIFACTS

pytestmark = pytest.mark.browser


def create_from_dialog(page, name, template):
    page.goto(f"/w/{page.user.workspace.slug}/")
    page.get_by_role("button", name="New bot").click()
    dialog = page.get_by_role("dialog", name="New bot")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.locator(f".template-choice[data-template={template}]").click()
    dialog.get_by_role("button", name="Create bot").click()
    expect(page).to_have_url(re.compile(r"/bots/[0-9a-f-]+/editor/$"))
    expect(page.locator("body[data-editor-ready=true]")).to_be_attached()
    return Bot.objects.get(name=name)


def test_a_lead_capture_bot_from_the_dialog_opens_with_its_flow_and_talks(logged_in_page):
    page = logged_in_page
    page.goto(f"/w/{page.user.workspace.slug}/")
    page.get_by_role("button", name="New bot").click()
    # The AI template says up front that it needs a provider this workspace lacks.
    expect(page.get_by_test_id("needs-llm")).to_contain_text("Needs an LLM provider")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "new-bot-dialog.png"))  # for a reviewer to look at
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog", name="New bot")).to_be_hidden()

    bot = create_from_dialog(page, "Leads", "lead-capture")
    assert [v["name"] for v in bot.draft["variables"]] == ["name", "email", "company"]
    assert page.evaluate("window.flowEditor.store.nodes().map((n) => n.id)") == [
        "start", "welcome", "ask", "confirm", "end"]
    expect(page.locator('#fs-canvas [data-cell-id="welcome"]')).to_be_visible()
    expect(page.locator("#fs-problems-badge")).to_have_text("No problems")
    expect(page.get_by_test_id("empty-canvas-hint")).to_be_hidden()  # the flow has cards

    page.locator("#fs-emu-toggle").click()
    box = page.get_by_label("Message to the bot")
    log = page.locator("#fs-emu-log")
    box.fill("hello")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text("What is your name?")
    box.fill("Ada Lovelace")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text("Thanks, Ada Lovelace! What is your email address?")
    box.fill("ada@example.com")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text("And which company do you work for?")
    box.fill("Analytical Engines")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text(
        "Got it: Ada Lovelace from Analytical Engines, reachable at ada@example.com. We will be in touch soon!")


def test_a_blank_bot_shows_the_empty_canvas_hint_until_it_has_a_card(logged_in_page):
    page = logged_in_page
    create_from_dialog(page, "Empty", "blank")
    hint = page.get_by_test_id("empty-canvas-hint")
    expect(hint).to_be_visible()
    expect(hint).to_have_text("Drag a card from the tray onto a node, or right-click the canvas to add a node.")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "empty-canvas-hint.png"))
    # A card added (as the tray's drop does, through the store) and the hint is gone.
    page.evaluate("""() => {
      const { store } = window.flowEditor;
      store.change('Add a node', (doc) => {
        const flow = doc.flows.find((f) => f.name === 'main');
        flow.nodes.splice(1, 0, { id: 'hi', kind: 'standard', cards: [store.newCard('text', { text: 'Hi' })], next: 'end' });
        flow.nodes[0].next = 'hi';
      });
    }""")
    expect(hint).to_be_hidden()


def test_every_tray_item_has_a_tooltip_and_an_icon_of_its_own(logged_in_page):
    page = logged_in_page
    create_from_dialog(page, "Tray", "blank")
    items = page.locator(".fs-tray-item")
    expect(items.first).to_be_visible()
    found = items.evaluate_all(
        "els => els.map((el) => ({ key: el.dataset.key, title: el.title, icon: el.querySelector('svg path').getAttribute('d') }))")
    assert len(found) > 20
    assert [item["key"] for item in found if not item["title"].strip()] == []
    icons = [item["icon"] for item in found]
    assert len(set(icons)) == len(icons), "no two tray items share an icon"


def test_a_faq_bot_with_a_knowledge_base_answers_from_it_in_the_emulator(logged_in_page):
    page = logged_in_page
    bot = create_from_dialog(page, "Shop FAQ", "faq-knowledge")
    # The template's knowledge base came with the bot and was indexed (eager tasks here).
    (kb,) = bot.knowledge_bases.all()
    assert kb.name == "FAQ" and set(kb.sources.values_list("status", flat=True)) == {"ready"}
    expect(page.locator("#fs-problems-badge")).to_have_text("No problems")
    page.locator("#fs-emu-toggle").click()
    box = page.get_by_label("Message to the bot")
    log = page.locator("#fs-emu-log")
    box.fill("hello")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text(
        "Hi! Ask me anything about our opening hours, delivery, returns, payment or how to reach us.")
    box.fill("can I send an item back?")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_contain_text(
        "Returns: you can send back any item within 30 days of delivery for a full refund.")
    box.fill("what is the boiling point of water")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text(
        "Sorry, I could not find that in our FAQ. Write to help@example.com and a person will answer.")
