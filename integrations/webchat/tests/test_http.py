"""The webchat's HTTP side: embed scripts, the share page, the HTTP fallback (session, send,
long poll, upload) with its CORS answers, and uploaded files."""
import asyncio
import gzip
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient, Client

from integrations.webchat import services
from integrations.webchat.models import WebchatUpload
from runtime.tests.bots import echo_bot

from .helpers import ORIGIN, create_bot

pytestmark = pytest.mark.django_db(transaction=True)


def api(client, bot, path, body, **headers):
    return client.post(f"/webchat/{bot.pk}/api/{path}", data=json.dumps(body), content_type="application/json",
                       headers={"Origin": ORIGIN, **headers})


def test_inject_js_is_served_compressed_to_any_page():
    response = Client().get("/webchat/inject.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert response["Content-Encoding"] == "gzip" and response["Access-Control-Allow-Origin"] == "*"
    assert b"window.botpress = api" in gzip.decompress(response.content)


def test_config_js_carries_the_dashboard_configuration_safely():
    bot = create_bot(echo_bot(), bot_name="</script><script>alert(1)</script>", allowed_origins=[ORIGIN])
    response = Client().get(f"/webchat/{bot.pk}/config.js")
    source = response.content.decode()
    assert "</script>" not in source and "\\u003c/script\\u003e" in source
    assert f'"botId":"{bot.pk}"' in source and '"hostUrl":"http://testserver"' in source
    assert ORIGIN not in source and "identity" not in source
    assert Client().get("/webchat/00000000-0000-0000-0000-000000000000/config.js").status_code == 404
    assert Client().get("/webchat/not-a-uuid/config.js").status_code == 404


def test_the_share_page_embeds_the_widget_full_screen():
    bot = create_bot(echo_bot(), bot_name="Shop helper")
    page = Client().get(f"/s/{bot.pk}").content.decode()
    assert "<title>Shop helper</title>" in page and '"fullscreen":true' in page
    assert '<script src="/webchat/inject.js"></script>' in page


def test_the_ready_frame_says_whether_the_bot_greets_on_open():
    # (The share page's hint for the bot's builders: studio/tests/test_webchat_settings_view.py.)
    # The widget shows a hint in the empty chat of a bot that says nothing on open.
    silent = create_bot(echo_bot(), allowed_origins=[ORIGIN])
    assert api(Client(), silent, "session", {"type": "hello"}).json()["ready"]["greeting"] is False
    greeter = echo_bot()
    greeter["flows"][0]["nodes"] += [
        {"id": "on-open", "kind": "trigger", "trigger": {"type": "conversation_started"}, "next": "hello"},
        {"id": "hello", "kind": "standard", "cards": [{"id": "hi", "type": "text", "text": "Hi!"}], "next": None}]
    greeter = create_bot(greeter, allowed_origins=[ORIGIN])
    assert api(Client(), greeter, "session", {"type": "hello"}).json()["ready"]["greeting"] is True


def test_the_fallback_talks_like_the_socket():
    bot = create_bot(echo_bot(), allowed_origins=[ORIGIN])
    client = Client()
    started = api(client, bot, "session", {"type": "hello"})
    assert started.status_code == 200 and started["Access-Control-Allow-Origin"] == ORIGIN
    ready = started.json()["ready"]
    assert ready["type"] == "ready" and started.json()["frames"] == []

    sent = api(client, bot, "send", {"userKey": ready["userKey"], "conversationId": ready["conversationId"],
                                     "frame": {"type": "message", "clientId": "c1", "payload": {"type": "text", "text": "hi"}}})
    assert sent.json() == {"type": "ack", "clientId": "c1", "messageSeq": 1, "seq": 0}
    polled = client.get(f"/webchat/{bot.pk}/api/poll", {"conversationId": ready["conversationId"], "after": 0},
                        headers={"Origin": ORIGIN, "X-Webchat-User-Key": ready["userKey"]})
    frames = polled.json()["frames"]
    assert [(f["seq"], f["message"]["payload"]["text"]) for f in frames] == [(1, "hi"), (2, "got hi")]
    assert polled.json()["seq"] == 2

    refused = api(client, bot, "send", {"userKey": "forged", "conversationId": ready["conversationId"],
                                        "frame": {"type": "ping"}})
    assert refused.status_code == 401 and refused.json()["code"] == "unknown_user"
    bad = api(client, bot, "send", {"userKey": ready["userKey"], "conversationId": ready["conversationId"],
                                    "frame": {"type": "message", "payload": {"type": "text"}}})
    assert bad.status_code == 400 and bad.json()["message"] == "a text message needs a non-empty text"
    elsewhere = client.post(f"/webchat/{bot.pk}/api/session", data="{}", content_type="application/json",
                            headers={"Origin": "https://evil.example.net"})
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "origin_not_allowed"
    preflight = client.options(f"/webchat/{bot.pk}/api/send", headers={"Origin": ORIGIN})
    assert preflight.status_code == 204
    assert "X-Webchat-User-Key" in preflight["Access-Control-Allow-Headers"]


@pytest.mark.asyncio
@pytest.mark.parametrize("answer_after", [0.5, 7.0])  # 7 s: past redis-py's default 5 s socket timeout
async def test_the_long_poll_returns_as_soon_as_the_bot_answers(answer_after):
    bot = await asyncio.to_thread(create_bot, echo_bot())
    client = AsyncClient()
    ready = (await client.post(f"/webchat/{bot.pk}/api/session", data="{}", content_type="application/json",
                               headers={"Origin": ORIGIN})).json()["ready"]

    async def answer_later():
        await asyncio.sleep(answer_after)
        session = await asyncio.to_thread(services.resume_session, bot.pk, origin=ORIGIN, host="testserver",
                                          user_key=ready["userKey"], conversation_id=ready["conversationId"])
        await asyncio.to_thread(services.post_message, session, {"type": "text", "text": "late"})

    started = asyncio.get_running_loop().time()
    poll, _ = await asyncio.gather(
        client.get(f"/webchat/{bot.pk}/api/poll", {"conversationId": ready["conversationId"], "after": 0},
                   headers={"Origin": ORIGIN, "X-Webchat-User-Key": ready["userKey"]}),
        answer_later())
    waited = asyncio.get_running_loop().time() - started
    assert poll.status_code == 200, poll.content[:500]
    assert answer_after - 0.1 < waited < answer_after + 10
    assert [f["message"]["payload"]["text"] for f in poll.json()["frames"] if f["type"] == "message"] == ["late"]


def test_uploads_respect_the_bot_limits_and_files_never_run_as_pages():
    bot = create_bot(echo_bot(), file_upload_enabled=True, max_upload_mb=1, upload_types=["image/*", "application/pdf"])
    client = Client()
    ready = api(client, bot, "session", {}).json()["ready"]
    headers = {"Origin": ORIGIN, "X-Webchat-User-Key": ready["userKey"]}

    def upload(name, content, content_type):
        return client.post(f"/webchat/{bot.pk}/api/upload",
                           {"conversationId": ready["conversationId"], "file": SimpleUploadedFile(name, content, content_type)},
                           headers=headers)

    ok = upload("report.pdf", b"%PDF-1.4 tiny", "application/pdf")
    assert ok.status_code == 200 and ok.json()["messageSeq"] == 1
    stored = WebchatUpload.objects.get()
    file_view = client.get(f"/webchat/files/{stored.pk}")
    assert file_view.content == b"%PDF-1.4 tiny" and file_view["Content-Type"] == "application/pdf"
    assert file_view["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert file_view["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert file_view["X-Content-Type-Options"] == "nosniff"

    # The type is read from the name, not from what the browser claims.
    lying = upload("page.html", b"<script>alert(1)</script>", "image/png")
    assert lying.status_code == 400
    assert lying.json()["message"] == "page.html is text/html; allowed types: image/*, application/pdf"
    big = upload("big.png", b"x" * (1024 * 1024 + 1), "image/png")
    assert big.json()["code"] == "upload_too_large"
    assert WebchatUpload.objects.count() == 1
    services.update_settings(bot, {"file_upload_enabled": False})
    assert upload("again.pdf", b"%PDF", "application/pdf").json()["code"] == "upload_disabled"
