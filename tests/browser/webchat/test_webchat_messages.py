"""Every message type the engine sends renders in the widget; dropdowns and card buttons post
back; the typing indicator shows while the bot works; timestamps when configured."""
import pytest
from playwright.sync_api import expect

from .webchat_pages import host_page, publish_bot, user_bubbles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def showcase_bot():
    card = {"title": "Blue shirt", "subtitle": "20 EUR", "imageUrl": "https://example.com/shirt.png",
            "actions": [{"action": "postback", "label": "Buy", "value": "buy-blue"},
                        {"action": "say", "label": "Tell me more", "value": "more about blue"},
                        {"action": "url", "label": "Open", "value": "https://example.com/shirt"}]}
    return {
        "format": "flowstudio.bot/1",
        "name": "Showcase",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "all"},
            {"id": "all", "kind": "standard", "cards": [
                {"id": "slow", "type": "code", "code": "const t = Date.now(); while (Date.now() - t < 700) {}"},
                {"id": "t", "type": "text", "text": "Plain text\nsecond line"},
                {"id": "md", "type": "text", "markdown": True,
                 "text": "# Title\n- one\n- two\n\n`code` and [a link](https://example.com)\n\n```\nblock\n```"},
                {"id": "img", "type": "image", "url": "https://example.com/cat.png", "title": "A cat"},
                {"id": "aud", "type": "audio", "url": "https://example.com/sound.mp3", "title": "A sound"},
                {"id": "vid", "type": "video", "url": "https://example.com/film.mp4", "title": "A film"},
                {"id": "fil", "type": "file", "url": "https://example.com/doc.pdf", "title": "The doc"},
                {"id": "loc", "type": "location", "latitude": 48.8584, "longitude": 2.2945, "title": "Eiffel Tower"},
                {"id": "crd", "type": "card", **card},
                {"id": "car", "type": "carousel", "items": [card, {**card, "title": "Red shirt"}]},
                {"id": "pick", "type": "capture", "capture": "single_choice", "variable": "workflow.size",
                 "prompt": "Which size?", "choices": ["XS", "S", "M", "L", "XL", "XXL"]},
                {"id": "echo", "type": "text", "text": "size {{workflow.size}}"},
                {"id": "wait", "type": "wait"},
                {"id": "after", "type": "text", "text": "got {{event.payload.value || event.preview}}"},
                {"id": "wait2", "type": "wait"},
                {"id": "after2", "type": "text", "text": "then {{event.preview}}"},
            ], "next": None},
        ]}],
    }


def test_every_message_type_renders_and_buttons_post_back(page, studio_server, host_pages):
    bot = publish_bot(showcase_bot(), show_timestamps=True)
    page.goto(host_pages.add(host_page(studio_server, bot)))
    page.locator(".bpFab").click()
    page.locator(".bpComposerInput").fill("show me")
    page.locator(".bpComposerInput").press("Enter")

    # The code card takes 0.7 s: the bot is typing meanwhile.
    expect(page.locator(".bpTypingIndicatorContainer")).to_be_visible()
    expect(page.locator(".bpMessageFromBot[data-type=dropdown]")).to_be_visible()
    expect(page.locator(".bpTypingIndicatorContainer")).to_be_hidden()

    text = page.locator(".bpMessageFromBot[data-type=text] .bpMessageBlocksTextText").first
    expect(text).to_have_text("Plain text\nsecond line")
    md = page.locator(".bpMessageFromBot[data-type=markdown]")
    expect(md.locator(".bpMessageBlocksTextHeading1")).to_have_text("Title")
    expect(md.locator(".bpMessageBlocksTextListItem")).to_have_text(["one", "two"])
    expect(md.locator(".bpMessageBlocksTextCode")).to_have_text("code")
    expect(md.locator(".bpMessageBlocksTextCodeBlock")).to_have_text("block")
    expect(md.locator("a.bpMessageBlocksTextLink")).to_have_attribute("href", "https://example.com/")
    expect(page.locator(".bpMessageBlocksImageImage")).to_have_attribute("src", "https://example.com/cat.png")
    expect(page.locator(".bpMessageFromBot[data-type=image] .bpMessageBlocksCaption")).to_have_text("A cat")
    expect(page.locator("audio.bpMessageBlocksAudio")).to_have_attribute("src", "https://example.com/sound.mp3")
    expect(page.locator("video.bpMessageBlocksVideo")).to_have_attribute("src", "https://example.com/film.mp4")
    expect(page.locator("a.bpMessageBlocksFileContainer")).to_have_attribute("href", "https://example.com/doc.pdf")
    expect(page.locator("a.bpMessageBlocksFileContainer")).to_contain_text("The doc")
    location = page.locator("a.bpMessageBlocksLocationContainer")
    expect(location).to_contain_text("Eiffel Tower")
    expect(location).to_have_attribute("href", "https://www.openstreetmap.org/?mlat=48.8584&mlon=2.2945#map=16/48.8584/2.2945")
    single = page.locator(".bpMessageFromBot[data-type=card] .bpMessageBlocksCardContainer")
    expect(single.locator(".bpMessageBlocksCardTitle")).to_have_text("Blue shirt")
    expect(single.locator(".bpMessageBlocksCardSubtitle")).to_have_text("20 EUR")
    expect(single.locator(".bpMessageBlocksCardImage")).to_have_attribute("src", "https://example.com/shirt.png")
    expect(page.locator(".bpMessageBlocksCarouselContainer .bpMessageBlocksCardTitle")).to_have_text(["Blue shirt", "Red shirt"])
    # Timestamps under each message (configured in the bot's settings).
    expect(page.locator(".bpMessageContainer")).to_have_count(11)
    expect(page.locator(".bpMessageContainer .bpMessageTimestamp")).to_have_count(11)

    # More than five choices come as a dropdown; picking one answers as the user.
    dropdown = page.locator(".bpMessageFromBot[data-type=dropdown]")
    expect(dropdown.locator(".bpMessageBlocksTextText")).to_have_text("Which size?")
    dropdown.locator("select").select_option(label="XL")
    dropdown.get_by_role("button", name="Send").click()
    expect(user_bubbles(page).last).to_have_text("XL")
    expect(page.locator(".bpMessageFromBot .bpMessageBlocksTextText").last).to_have_text("size XL")
    # A quick reply answers once; the cards' buttons stay usable.
    expect(dropdown.locator("select")).to_be_disabled()

    # A card's postback button sends its value, shown as the user's reply with its label...
    single.get_by_role("button", name="Buy").click()
    expect(user_bubbles(page).last).to_have_text("Buy")
    expect(page.locator(".bpMessageFromBot .bpMessageBlocksTextText").last).to_have_text("got buy-blue")
    # ...a "say" button sends its value as text; a URL button is a link.
    single.get_by_role("button", name="Tell me more").click()
    expect(user_bubbles(page).last).to_have_text("more about blue")
    expect(page.locator(".bpMessageFromBot .bpMessageBlocksTextText").last).to_have_text("then more about blue")
    expect(single.get_by_role("link", name="Open")).to_have_attribute("href", "https://example.com/shirt")


def test_a_bloc_renders_each_of_its_items(page, studio_server, host_pages):
    bot = publish_bot({
        "format": "flowstudio.bot/1",
        "name": "Bloc",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "all"},
            {"id": "all", "kind": "standard", "cards": [
                {"id": "b", "type": "bloc", "items": [
                    {"type": "text", "text": "Here is {{event.preview}}"},
                    {"type": "markdown", "markdown": "**bold** part"},
                    {"type": "image", "imageUrl": "https://example.com/cat.png"},
                    {"type": "file", "fileUrl": "https://example.com/doc.pdf", "title": "The doc"},
                    {"type": "location", "latitude": 48.8584, "longitude": 2.2945, "title": "Eiffel Tower"},
                ]},
            ], "next": None},
        ]}],
    })
    page.goto(host_pages.add(host_page(studio_server, bot)))
    page.locator(".bpFab").click()
    page.locator(".bpComposerInput").fill("the bloc")
    page.locator(".bpComposerInput").press("Enter")

    bloc = page.locator(".bpMessageFromBot[data-type=bloc]")
    expect(bloc.locator(".bpMessageBlocksTextText").first).to_have_text("Here is the bloc")
    expect(bloc.locator("strong")).to_have_text("bold")
    expect(bloc.locator(".bpMessageBlocksImageImage")).to_have_attribute("src", "https://example.com/cat.png")
    expect(bloc.locator("a.bpMessageBlocksFileContainer")).to_contain_text("The doc")
    expect(bloc.locator("a.bpMessageBlocksLocationContainer")).to_contain_text("Eiffel Tower")
    # One message, not five, and no "(bloc)" placeholder.
    expect(page.locator(".bpMessageFromBot")).to_have_count(1)
    expect(bloc).not_to_contain_text("(bloc)")
