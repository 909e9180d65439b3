"""A visitor on a customer's site asks an AI bot: the answer grows in one bubble as the model
writes it, then the stored message takes its place (one bubble, not two); the stop button
ends an answer in progress (docs/ai.md, "Streaming and cancel")."""
import re

import pytest
from playwright.sync_api import expect

from flows import services as flow_services
from integrations.llm import scripted_server as s
from integrations.llm.services import save_provider
from integrations.llm.testing import scripted_llm_server  # noqa: F401
from runtime.models import Message

from .webchat_pages import bot_bubbles, host_page, publish_bot, user_bubbles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AI_BOT = {
    "format": "flowstudio.bot/1", "name": "Streaming shop",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "talk"},
        {"id": "talk", "kind": "standard", "cards": [
            {"id": "answer", "type": "ai_generate_text", "prompt": "{{event.preview}}"},
            {"id": "again", "type": "wait"}], "next": "talk"},
    ]}],
}


def ai_bot(server, host_pages):
    save_provider(flow_services.default_workspace(), {
        "name": "acme", "base_url": server.url, "api_key": "k", "default_model": "Fast", "max_retries": 0,
        "timeout_seconds": 20, "models": [{"id": "scripted-fast", "label": "Fast"}]})
    return publish_bot(AI_BOT, allowed_origins=[host_pages.origin])


def ask(page, text):
    page.locator(".bpFab").click()
    expect(page.locator(".bpWebchat")).to_be_visible()
    page.locator(".bpComposerInput").fill(text)
    page.locator(".bpComposerInput").press("Enter")


def test_the_answer_grows_in_one_bubble_then_the_stored_message_replaces_it(
        page, studio_server, host_pages, scripted_llm_server):
    answer = "Our shop opens at nine and closes at six every day of the week"
    scripted_llm_server.script([s.text(answer, token_delay=0.15)])
    bot = ai_bot(scripted_llm_server, host_pages)
    page.goto(host_pages.add(host_page(studio_server, bot)))
    ask(page, "when are you open?")

    growing = page.locator(".bpMessageStreaming .bpMessageBlocksTextText")
    # A part of the answer is on screen before the whole of it.
    expect(growing).to_have_text(re.compile(r"^Our shop opens"))
    partial = growing.text_content()
    assert answer.startswith(partial) and partial != answer
    expect(page.locator(".bpComposerStopButton")).to_be_visible()

    expect(bot_bubbles(page)).to_have_text([answer], timeout=15000)
    expect(page.locator(".bpMessageStreaming")).to_have_count(0)
    expect(page.locator(".bpComposerStopButton")).to_be_hidden()
    page.wait_for_timeout(300)
    assert bot_bubbles(page).count() == 1
    assert list(Message.objects.filter(conversation__bot=bot, direction="outgoing")
                .values_list("payload", flat=True)) == [{"text": answer, "streamId": "answer:0"}]


def test_the_stop_button_ends_the_answer_and_marks_the_question(page, studio_server, host_pages,
                                                               scripted_llm_server):
    long_answer = " ".join(f"word{i}" for i in range(60))
    scripted_llm_server.script([s.text(long_answer, token_delay=0.15)])
    bot = ai_bot(scripted_llm_server, host_pages)
    page.goto(host_pages.add(host_page(studio_server, bot)))
    ask(page, "tell me everything")

    expect(page.locator(".bpMessageStreaming .bpMessageBlocksTextText")).to_have_text(re.compile(r"^word0 word1"))
    page.locator(".bpComposerStopButton").click()

    expect(page.locator(".bpMessageStreaming")).to_have_count(0)
    expect(page.locator(".bpComposerStopButton")).to_be_hidden()
    question = page.locator(".bpMessageFromUser.bpMessageCancelled")
    expect(question).to_contain_text("Answer stopped", timeout=10000)
    expect(user_bubbles(page)).to_have_text(["tell me everything"])
    page.wait_for_timeout(1000)  # longer than a few more pieces would take
    assert bot_bubbles(page).count() == 0
    rows = list(Message.objects.filter(conversation__bot=bot).order_by("seq"))
    assert [(m.direction, (m.metadata or {}).get("cancelled")) for m in rows] == [("incoming", True)]

    page.reload()  # the replay shows the question as stopped too
    page.locator(".bpFab").click()
    expect(page.locator(".bpMessageFromUser.bpMessageCancelled")).to_contain_text("Answer stopped")
