"""The Knowledge tab and the emulator's knowledge status lines in Chromium (issue 16): a builder
creates a knowledge base, adds free text and uploads a small file, watches them reach "ready"
(and a broken PDF fail with its reason), tries a query and reads the ranked passages; a bot
with a Query Knowledge Bases card then answers in the emulator, its status line cites the
source on hover and on keyboard focus, and the debugger shows the query, passages, scores and
tokens. Screenshots in light and dark go to tests/browser/artifacts/."""
import copy
import re
import time

import pytest
from playwright.sync_api import expect

from flows import knowledge, services
from flows.models import Bot, KnowledgeBase, KnowledgeSource
from runtime.knowledge import indexing
from studio.people.models import Role

from .editor_page import VIEWPORT, EditorPage
from .test_screenshots import assert_theme, save, turns_done

pytestmark = pytest.mark.browser

BOT = {
    "format": "flowstudio.bot/1",
    "name": "Kettle help",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "talk"},
        {"id": "talk", "kind": "standard", "name": "Answer", "next": "talk", "cards": [
            {"id": "ask", "type": "query_knowledge", "query": "{{event.preview}}"},
            {"id": "said", "type": "text",
             "text": "{{turn.KnowledgeAgent.responded ? turn.KnowledgeAgent.answer : 'Sorry, I have no answer'}}"},
            {"id": "listen", "type": "wait"},
        ]},
    ]}],
    "layout": {"main": {"start": [0, 0], "talk": [0, 140]}},
}
RETURNS = ("# Returns and refunds\n\nYou may return any kettle within 45 days of purchase for a full refund. "
           "Bring the receipt and the kettle in its box to any shop.\n")
HOURS = "The shop opens at nine in the morning and closes at six in the evening, Monday to Saturday."
QUESTION = "How many days do I have to return a kettle?"


def rows(page):
    return page.locator("#fs-kb-view .fs-kb-grid tbody tr[data-source]")


def row(page, name):
    return page.locator("#fs-kb-view .fs-kb-grid tbody tr[data-source]", has=page.locator(".fs-kb-name", has_text=name))


def try_query(page, text):
    enter(page.locator("#fs-kb-view [data-role=query]"), text)


def enter(box, text):
    box.fill(text)
    box.press("Enter")


def ask(page, text):
    """Type a message in the emulator and send it."""
    enter(page.get_by_label("Message to the bot"), text)


def open_knowledge(page):
    page.locator('#fs-rail [data-left-tab="knowledge"]').click()
    expect(page.locator("#fs-knowledge")).to_be_visible()


def editor_as(new_context, login, studio_url, user, bot, init_script=""):
    """The user's editor page on the bot; `page.errors` collects its JavaScript errors."""
    context = new_context(viewport=VIEWPORT, color_scheme="light")
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    login(page, user)
    return page, EditorPage(page).open(studio_url, bot)


def test_a_kb_made_in_the_knowledge_tab_answers_in_the_emulator_with_a_citation(new_context, login, studio_url,
                                                                                 make_user, tmp_path):
    owner = make_user()
    bot = services.import_bot(copy.deepcopy(BOT), workspace=owner.workspace, user=owner)
    # Light until the test switches to dark (and keeps it over the reload).
    page, ed = editor_as(new_context, login, studio_url, owner, bot, init_script=(
        "localStorage.setItem('flowstudio.theme', localStorage.getItem('flowstudio.theme') || 'light')"))

    # Create a KB: a bad name is refused under its field, in words.
    open_knowledge(page)
    expect(page.locator("#fs-knowledge")).to_contain_text("No knowledge bases yet")
    page.locator('#fs-knowledge [data-action="new-kb"]').click()
    dialog = ed.submit_dialog(name="../kettles", folder="Support", description="Returns, hours and the warranty")
    expect(dialog.locator('[data-dialog-field="name"] .fs-field-error')).to_contain_text("letters, digits")
    ed.submit_dialog(name="Kettles")
    view = page.locator("#fs-kb-view")
    expect(view.locator(".fs-kb-title")).to_have_text("Kettles")
    expect(view.locator(".fs-kb-description")).to_have_text("Returns, hours and the warranty")
    expect(page.locator("#fs-knowledge .fs-kb-folder")).to_contain_text("Support")
    expect(page.locator("#fs-knowledge .fs-kb-item.active")).to_contain_text("0 sources")
    kb = KnowledgeBase.objects.get(bot=bot)
    assert (kb.name, kb.folder) == ("Kettles", "Support")

    # Free text, from the keyboard.
    view.locator('[data-action="add-text"]').focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("[name=name]")).to_be_focused()
    page.keyboard.type("Opening hours")
    dialog.locator("[name=text]").fill(HOURS)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # Cancel, then Add
    page.keyboard.press("Enter")
    expect(row(page, "Opening hours").locator(".fs-kb-status")).to_have_text("Ready")

    # Upload a Markdown file, a broken PDF and a format the API does not read, at once.
    returns = tmp_path / "returns.md"
    returns.write_text(RETURNS)
    broken = tmp_path / "scan.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    deck = tmp_path / "deck.pptx"
    deck.write_bytes(b"slides")
    view.locator("[data-role=files]").set_input_files([str(returns), str(broken), str(deck)])
    expect(view.locator("[data-role=message]")).to_contain_text(
        "Not uploaded: deck.pptx: the formats are PDF, DOCX, HTML, Markdown and TXT")
    expect(row(page, "returns.md").locator(".fs-kb-status")).to_have_text("Ready")
    expect(row(page, "returns.md")).to_contain_text("Document (MD)")
    failed = row(page, "scan.pdf")
    expect(failed.locator(".fs-kb-status")).to_have_text("Failed")
    expect(failed.locator(".fs-kb-error")).to_contain_text("PDF")
    expect(rows(page)).to_have_count(3)
    expect(view.locator("[data-role=progress]")).to_have_text("All sources indexed; 1 failed.")
    expect(page.locator("#fs-knowledge .fs-kb-item.active")).to_contain_text("1 failed")

    # A URL of the server's own network is refused in the dialog, with the reason.
    view.locator('[data-action="add-url"]').click()
    dialog = ed.submit_dialog(url="http://10.0.0.5/admin")
    expect(dialog.locator('[data-dialog-field="url"] .fs-field-error')).to_contain_text("private or reserved address")
    dialog.locator("button[value=cancel]").click()

    # Try a query: ranked passages with scores and their citation, the answering one first.
    try_query(page, QUESTION)
    hits = view.locator(".fs-kb-hit")
    expect(hits.first).to_have_attribute("data-source-name", "returns.md")
    expect(hits.first.locator("[data-role=citation]")).to_have_text("returns.md")
    expect(hits.first.locator("[data-role=score]")).to_contain_text("score 0.0")
    expect(hits.first).to_contain_text("full text #1")
    expect(hits.first.locator(".fs-kb-text")).to_contain_text("within 45 days")
    expect(view.locator("[data-role=results]")).to_contain_text("best first")
    save(page, "knowledge-tab-light.png")
    try_query(page, "zzzz qqqq")
    expect(view.locator("[data-role=no-hits]")).to_have_text("No content matched the query.")

    # Live status: a source queued behind the tab's back goes to Ready while the page polls,
    # and the polling stops once everything has settled.
    queued = knowledge.add_text(kb, "Delivery", "Kettles are delivered within three working days.")
    page.locator('#fs-rail [data-left-tab="explorer"]').click()
    open_knowledge(page)
    expect(row(page, "Delivery").locator(".fs-kb-status")).to_have_text("Queued")
    expect(view.locator("[data-role=progress]")).to_have_text("Indexing 1 source…")
    # Each step the indexing job records shows up while the tab polls.
    for step, label in (("parsing", "Parsing"), ("embedding", "Embedding")):
        KnowledgeSource.objects.filter(pk=queued.pk).update(status=step)
        expect(row(page, "Delivery").locator(".fs-kb-status")).to_have_text(label)
    expect(page.locator("#fs-knowledge .fs-kb-item.active")).to_contain_text("indexing")
    # The server out of reach for a while: said in words, and the polling goes on.
    page.route("**/knowledge-bases", lambda route: route.abort())
    expect(view.locator("[data-role=message] strong")).to_have_text(
        "Could not refresh the sources: The server could not be reached; check the connection and try again.")
    page.unroute("**/knowledge-bases")
    assert indexing.index_source(queued.pk) == "ready"
    expect(row(page, "Delivery").locator(".fs-kb-status")).to_have_text("Ready")
    expect(view.locator("[data-role=message]")).to_be_hidden()
    polls = []
    page.on("request", lambda r: polls.append(r.url) if r.url.endswith("/knowledge-bases") else None)
    time.sleep(2.5)
    assert polls == [], "the tab kept polling after every source settled"

    # Re-index and delete a source, from the keyboard and the mouse.
    reindex = row(page, "Opening hours").locator('[data-action="reindex"]')
    reindex.focus()
    with page.expect_response(lambda r: r.url.endswith("/reindex")) as answered:
        page.keyboard.press("Enter")
    assert answered.value.status == 202
    expect(row(page, "Opening hours").locator(".fs-kb-status")).to_have_text("Ready")
    assert KnowledgeSource.objects.get(knowledge_base=kb, name="Opening hours").revision == 2
    row(page, "scan.pdf").locator('[data-action="delete-source"]').click()
    page.locator("dialog[open] button[type=submit]").click()
    expect(rows(page)).to_have_count(3)
    assert not KnowledgeSource.objects.filter(knowledge_base=kb, name="scan.pdf").exists()

    # Rename it: the list and the title follow.
    view.locator('[data-action="edit-kb"]').click()
    ed.submit_dialog(name="Kettle help")
    expect(view.locator(".fs-kb-title")).to_have_text("Kettle help")
    expect(page.locator("#fs-knowledge .fs-kb-item.active")).to_contain_text("Kettle help")

    # The card picks its KBs from the bot's: ticked, the draft names it.
    page.keyboard.press("Escape")
    expect(view).to_be_hidden()
    expect(ed.card("talk", "query_knowledge")).to_contain_text("all KBs")
    ed.card("talk", "query_knowledge").click()
    picker = ed.field("knowledgeBases")
    expect(picker.locator("label")).to_have_text(["Kettle help"])
    picker.get_by_label("Kettle help").check()
    ed.saved()
    expect(ed.card("talk", "query_knowledge")).to_contain_text("Kettle help")
    assert Bot.objects.get(pk=bot.pk).draft["flows"][0]["nodes"][1]["cards"][0]["knowledgeBases"] == ["Kettle help"]

    # The emulator: the card answers, the status line cites the file on hover and on focus.
    page.keyboard.press("Control+e")
    log = page.locator("#fs-emu-log")
    ask(page, QUESTION)
    expect(log.locator(".fs-emu-msg.bot").last).to_contain_text("within 45 days")
    line = log.locator(".fs-emu-kb.found").last
    expect(line).to_contain_text("Answer found in Knowledge Base")
    cite = line.locator(".fs-emu-cite").first
    expect(cite).to_have_text("[1]")
    tip = line.locator(".fs-emu-cite-tip").first
    expect(tip).to_be_hidden()
    cite.hover()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("[1] returns.md")
    expect(tip).to_contain_text("Kettle help · document")
    expect(tip).to_contain_text("within 45 days")
    save(page, "knowledge-emulator-light.png")
    page.mouse.move(5, 5)
    expect(tip).to_be_hidden()
    cite.focus()
    expect(tip).to_be_visible()
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()

    # The debugger's Knowledge tab: the query, the ranked passages, scores, tokens, what was cited.
    page.keyboard.press("Control+j")
    debugger = page.locator("#fs-debugger")
    debugger.get_by_role("tab", name="Knowledge").click()
    expect(debugger.locator('[data-testid="kb-query"]')).to_have_text(QUESTION)
    first = debugger.locator(".fs-dbg-kb-passages tbody tr").first
    expect(first).to_have_class("cited")
    expect(first).to_contain_text("returns.md (Kettle help)")
    expect(first.locator('[data-role="score"]')).to_have_text(re.compile(r"^0\.0\d{3}$"))
    assert int(first.locator('[data-role="tokens"]').inner_text()) > 10
    expect(debugger.locator('[data-testid="kb-outcome"]')).to_contain_text("the best passage, verbatim")
    debugger.get_by_role("tab", name="Trace").click()
    expect(debugger.locator('.fs-dbg-row[data-type="knowledge_answer"]')).to_contain_text(
        "Answer found in Knowledge Base, citing [1] returns.md")

    ask(page, "zzzz qqqq")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text("Sorry, I have no answer")
    expect(log.locator(".fs-emu-kb.none").last).to_have_text("No content matched the query")
    turns_done(bot)

    # Dark: the same tab and status line, and really dark.
    page.evaluate("localStorage.setItem('flowstudio.theme', 'dark')")
    page.emulate_media(color_scheme="dark")
    page.reload()
    page.wait_for_selector("body[data-editor-ready=true]", state="attached")
    open_knowledge(page)
    page.locator('#fs-knowledge [data-kb]').first.click()
    try_query(page, QUESTION)
    expect(view.locator(".fs-kb-hit").first).to_have_attribute("data-source-name", "returns.md")
    assert_theme(view, "dark")
    save(page, "knowledge-tab-dark.png")
    cite = log.locator(".fs-emu-kb.found .fs-emu-cite").first
    expect(cite).to_be_visible()
    cite.hover()
    expect(log.locator(".fs-emu-kb.found .fs-emu-cite-tip").first).to_be_visible()
    assert_theme(log.locator(".fs-emu-cite-tip").first, "dark")
    save(page, "knowledge-emulator-dark.png")

    # Delete the KB: the list is empty again.
    page.locator('#fs-knowledge [data-kb]').first.click()
    view.locator('[data-action="delete-kb"]').click()
    page.locator("dialog[open] button[type=submit]").click()
    expect(page.locator("#fs-knowledge")).to_contain_text("No knowledge bases yet")
    assert not KnowledgeBase.objects.filter(bot=bot).exists()
    assert page.errors == []


def test_a_viewer_reads_the_knowledge_bases_and_tries_a_query_but_changes_nothing(new_context, login, studio_url,
                                                                                  make_user):
    owner = make_user()
    bot = services.import_bot(copy.deepcopy(BOT), workspace=owner.workspace, user=owner)
    kb = knowledge.create_knowledge_base(bot, name="Kettles")
    assert indexing.index_source(knowledge.add_text(kb, "Opening hours", HOURS).pk) == "ready"
    page, _ = editor_as(new_context, login, studio_url, make_user(role=Role.VIEWER, workspace=owner.workspace), bot)
    open_knowledge(page)
    expect(page.locator('#fs-knowledge [data-action="new-kb"]')).to_have_count(0)
    page.locator('#fs-knowledge [data-kb]').first.click()
    view = page.locator("#fs-kb-view")
    for action in ("upload", "add-url", "add-sitemap", "add-text", "edit-kb", "delete-kb", "reindex", "delete-source"):
        expect(view.locator(f'[data-action="{action}"]').first).to_be_disabled()
    try_query(page, "when does the shop open")
    expect(view.locator(".fs-kb-hit").first).to_contain_text("opens at nine")
    assert page.errors == []


FAQ = {
    **copy.deepcopy(BOT),
    "tables": [{"name": "Faq", "columns": [{"name": "question", "type": "string", "searchable": True},
                                            {"name": "answer", "type": "string"}, {"name": "votes", "type": "number"}],
                "rows": [{"question": "Can I pay by card?", "answer": "Yes, every shop takes cards and cash.", "votes": 3},
                         {"question": "Do you ship abroad?", "answer": "We ship within the country only.", "votes": 1}]}],
}


@pytest.mark.skipif("table" not in KnowledgeSource.Kind.values, reason="the server has no table sources yet")
def test_a_table_source_reads_the_ticked_columns_and_cites_the_row(new_context, login, studio_url, make_user):
    owner = make_user()
    bot = services.import_bot(copy.deepcopy(FAQ), workspace=owner.workspace, user=owner)
    knowledge.create_knowledge_base(bot, name="Answers")
    page, ed = editor_as(new_context, login, studio_url, owner, bot)
    open_knowledge(page)
    page.locator('#fs-knowledge [data-kb]').first.click()
    view = page.locator("#fs-kb-view")
    view.locator('[data-action="add-table"]').click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("[name=table] option")).to_have_text(["Faq"])
    # Only the string columns are offered; the number column is not a passage's text.
    expect(dialog.locator('[data-dialog-field^="col:Faq:"]:not([hidden]) label')).to_have_text(
        ["Read question (searchable)", "Read answer"])
    dialog.get_by_label("Read answer").check()
    dialog.locator("button[type=submit]").click()
    # The dialog stays open (the page behind it inert) until the list has been read again,
    # after the new row already shows; a person types the query once it has closed.
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(row(page, "Faq").locator(".fs-kb-status")).to_have_text("Ready")
    expect(row(page, "Faq")).to_contain_text("Table (answer)")
    source = KnowledgeSource.objects.get(knowledge_base__bot=bot, name="Faq")
    assert (source.kind, source.columns) == ("table", ["answer"])
    try_query(page, "which payment do the shops take")
    best = view.locator(".fs-kb-hit").first
    expect(best.locator("[data-role=citation]")).to_have_text(re.compile(r"^Faq, row \d+$"))
    expect(best.locator(".fs-kb-text")).to_contain_text("every shop takes cards")
    assert page.errors == []


def test_a_capture_card_answers_a_question_from_the_kb_and_keeps_waiting_in_the_emulator(new_context, login,
                                                                                           studio_url, make_user):
    from runtime.knowledge.tests.test_knowledge import capture_bot

    owner = make_user()
    bot = services.import_bot(capture_bot(), workspace=owner.workspace, user=owner)
    kb = knowledge.create_knowledge_base(bot, name="Warranty")
    assert indexing.index_source(knowledge.add_text(
        kb, "Warranty terms", "Every Acme kettle carries a warranty of 3 years from the day it was bought.").pk) == "ready"
    page, _ = editor_as(new_context, login, studio_url, owner, bot)
    page.keyboard.press("Control+e")
    log = page.locator("#fs-emu-log")
    ask(page, "hello")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text("What is your order number?")
    ask(page, "How long is the warranty on a kettle?")
    expect(log.locator(".fs-emu-msg.bot").last).to_contain_text("warranty of 3 years")
    turn = log.locator(".fs-emu-turn").last
    expect(turn.locator(".fs-emu-kb.found")).to_contain_text("Answer found in Knowledge Base")
    expect(turn).to_contain_text("Answered the question from the knowledge bases; still waiting for workflow.order")
    cite = turn.locator(".fs-emu-cite")
    cite.focus()
    expect(turn.locator(".fs-emu-cite-tip")).to_contain_text("[1] Warranty terms")
    # A question the KB does not answer closely enough is an answer attempt, as before.
    ask(page, "What is the capital of Peru?")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text("Please give a number.")
    expect(log.locator(".fs-emu-turn").last.locator(".fs-emu-kb.none")).to_have_text("No content matched the query")
    page.keyboard.press("Control+j")
    debugger = page.locator("#fs-debugger")
    debugger.get_by_role("tab", name="Knowledge").click()
    expect(debugger.locator('[data-testid="kb-query"]')).to_have_text("What is the capital of Peru?")
    expect(debugger.locator(".fs-dbg-kb-search")).to_contain_text("similarity of 0.45 or more")
    expect(debugger.locator('[data-testid="kb-outcome"]')).to_contain_text("No content matched the query")
    assert page.errors == []


def test_the_library_points_to_the_knowledge_tab(new_context, login, studio_url, make_user):
    # Knowledge bases live in the database, not the draft: the Library's section must not say
    # "None" beside a bot that has one, but open the tab that lists it.
    owner = make_user()
    bot = services.import_bot(copy.deepcopy(BOT), workspace=owner.workspace, user=owner)
    knowledge.create_knowledge_base(bot, name="Kettles")
    page, _ = editor_as(new_context, login, studio_url, owner, bot)
    page.locator('#fs-rail [data-left-tab="library"]').click()
    section = page.locator('#fs-library [data-library-section="knowledgeBases"]')
    expect(section).not_to_contain_text("None")
    section.get_by_role("button", name="Open the Knowledge tab").click()
    expect(page.locator("#fs-knowledge")).to_be_visible()
    expect(page.locator("#fs-knowledge [data-kb]", has_text="Kettles")).to_be_visible()
    assert page.errors == []
