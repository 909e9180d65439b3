"""When websockets are blocked the widget falls back to HTTP (POST to send, long poll to
receive) and the conversation works the same; files go through the upload endpoint with the
bot's size and type limits."""
import struct
import zlib

import pytest
from playwright.sync_api import expect

from integrations.webchat.models import WebchatUpload

from .webchat_pages import bot_bubbles, demo_bot, events, host_page, publish_bot, user_bubbles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What a proxy that drops websocket upgrades looks like to a page: every socket fails
# before it opens.
BLOCK_WEBSOCKETS = """<script>
  window.__sockets = 0;
  window.WebSocket = function () {
    var self = this;
    window.__sockets++;
    setTimeout(function () { if (self.onclose) self.onclose({code: 1006}); }, 20);
    this.send = function () { throw new Error('not connected'); };
    this.close = function () {};
  };
</script>"""

def one_pixel_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = one_pixel_png()


def echo_bot():
    return {
        "format": "flowstudio.bot/1",
        "name": "Echo",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "loop"},
            {"id": "loop", "kind": "standard", "cards": [
                {"id": "reply", "type": "text", "text": "got {{event.preview}}"},
                {"id": "wait", "type": "wait"},
            ], "next": "loop"},
        ]}],
    }


def test_blocked_websockets_fall_back_to_http_and_nothing_is_lost(page, studio_server, host_pages):
    bot = demo_bot(allowed_origins=[host_pages.origin])
    url = host_pages.add(host_page(studio_server, bot, body=BLOCK_WEBSOCKETS))
    page.goto(url)
    page.wait_for_function("window.__events.some(e => e.name === 'webchat:ready')")
    assert page.evaluate("window.__sockets") == 2  # tried twice, then gave up on websockets
    page.locator(".bpFab").click()
    expect(bot_bubbles(page)).to_have_text(["Hi! I'm the Flowstudio webchat demo.", "What's your name?"])

    page.locator(".bpComposerInput").fill("Ada")
    page.locator(".bpComposerInput").press("Enter")
    question = page.locator(".bpMessageFromBot", has_text="Which plan interests you?")
    question.get_by_role("button", name="Enterprise").click()
    expect(page.locator(".bpMessageFromBot[data-type=markdown]")).to_contain_text("you picked the enterprise plan")
    expect(user_bubbles(page)).to_have_text(["Ada", "Enterprise"])
    page.wait_for_function("window.__events.some(e => e.name === 'customEvent')")
    assert events(page, "customEvent")[0]["data"] == {"type": "plan-chosen", "plan": "enterprise"}

    # The custom trigger and the restart work over HTTP as well.
    page.evaluate("botpress.sendEvent({type: 'show-pricing'})")
    expect(page.locator(".bpMessageBlocksCardTitle")).to_have_text("Pro plan")
    first = page.evaluate("botpress.conversationId")
    assert page.evaluate("botpress.restartConversation()") != first
    expect(bot_bubbles(page)).to_have_text(["Hi! I'm the Flowstudio webchat demo.", "What's your name?"])

    page.reload()
    page.locator(".bpFab").click()
    expect(bot_bubbles(page)).to_have_text(["Hi! I'm the Flowstudio webchat demo.", "What's your name?"])
    assert len({m for m in page.evaluate("window.__events.map(e => e.name)") if m == "error"}) == 0


def test_the_http_fallback_refuses_an_origin_that_is_not_allowed(page, studio_server, host_pages):
    bot = demo_bot(allowed_origins=["https://shop.example.com"])
    page.goto(host_pages.add(host_page(studio_server, bot, body=BLOCK_WEBSOCKETS)))
    page.wait_for_function("window.__events.some(e => e.name === 'error')")
    error = events(page, "error")[0]["data"]
    assert error["code"] == "origin_not_allowed" and host_pages.origin in error["message"]
    assert events(page, "webchat:ready") == []
    sent = page.evaluate("botpress.sendMessage('anyone?').then(() => 'sent', e => e.code)")
    assert sent == "origin_not_allowed"


def test_files_are_uploaded_within_the_bot_limits(page, studio_server, host_pages, tmp_path):
    bot = publish_bot(echo_bot(), file_upload_enabled=True, max_upload_mb=1, upload_types=["image/png", "text/plain"])
    page.goto(host_pages.add(host_page(studio_server, bot)))
    page.locator(".bpFab").click()
    page.locator(".bpComposerInput").fill("hello")
    page.locator(".bpComposerInput").press("Enter")
    expect(bot_bubbles(page).last).to_have_text("got hello")
    expect(page.locator(".bpComposerUploadButton")).to_be_visible()

    picture = tmp_path / "photo.png"
    picture.write_bytes(PNG)
    page.locator(".bpComposerContainer input[type=file]").set_input_files(str(picture))
    image = page.locator(".bpMessageFromUser[data-type=image] img.bpMessageBlocksImageImage")
    expect(image).to_be_visible()
    stored = WebchatUpload.objects.get()
    assert (stored.name, stored.content_type, bytes(stored.content)) == ("photo.png", "image/png", PNG)
    assert image.get_attribute("src") == f"{studio_server}/webchat/files/{stored.pk}"
    expect(bot_bubbles(page).last).to_have_text("got photo.png")
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) == 1

    # Too big: refused in the browser before anything is sent.
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    page.locator(".bpComposerContainer input[type=file]").set_input_files(str(big))
    expect(page.locator(".bpErrorContainer")).to_have_text("big.txt is larger than 1 MB")
    # A type the bot does not take: refused by the server, which names the allowed types.
    script = tmp_path / "run.html"
    script.write_text("<script>alert(1)</script>")
    page.locator(".bpComposerContainer input[type=file]").set_input_files(str(script))
    expect(page.locator(".bpErrorContainer")).to_have_text("run.html is text/html; allowed types: image/png, text/plain")
    assert WebchatUpload.objects.count() == 1
    codes = [e["data"]["code"] for e in events(page, "error")]
    assert codes == ["upload_too_large", "upload_type_not_allowed"]
