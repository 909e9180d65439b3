"""WhatsApp beyond the shared conversation tests: a bot message that names an approved
template goes out as that template outside the 24-hour window (and as itself inside it), and
a medium the user sends is downloaded (media id → Graph URL → file, through the outbound guard,
within the size limit) and served at the URL the transcript row then carries. Against a local
server answering as the Graph API and Meta's media CDN do."""
import json
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.messaging import sending
from integrations.messaging.kinds import SendRejected, meta
from integrations.messaging.models import ChannelMedia, DeliveryFailure
from runtime.models import Conversation, Message
from runtime.tests.bots import create_bot
from runtime.tests.receiver import http_server

from .bots import pizza_bot
from .channels import WHATSAPP_PHONE_ID, WhatsAppDriver
from .conftest import wait_for

MEDIA_ID = "1003383421387256"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00JFIF" + bytes(range(256)) * 4


@contextmanager
def graph_server(routes: dict):
    """Answers by path (the Graph API's and the CDN's), `{url}` in a body replaced by the
    server's own URL; records (method, path, headers, body)."""
    state = type("Graph", (), {"requests": [], "url": ""})()

    def handle(method, path, headers, body):
        path = path.split("?", 1)[0]
        state.requests.append((method, path, dict(headers), body))
        status, answer_headers, content = routes.get(path, (404, {}, b'{"error":{"message":"unknown path"}}'))
        return status, answer_headers, content.replace(b"{url}", state.url.encode())

    with http_server(handle) as port:
        state.url = f"http://127.0.0.1:{port}"
        yield state


def _routes(media_answer: dict | None = None, file=(200, {"Content-Type": "image/jpeg"}, JPEG)):
    media = media_answer or {"url": "{url}/cdn/v/t62.7118-24/media.jpg?ccb=11-4&oh=01_Q5AaI", "mime_type": "image/jpeg",
                             "sha256": "HgsrVmhnzvkEULb", "file_size": len(JPEG), "id": MEDIA_ID,
                             "messaging_product": "whatsapp"}
    return {f"/{WHATSAPP_PHONE_ID}/messages": WhatsAppDriver.ok_answer,
            f"/{MEDIA_ID}": (200, {"Content-Type": "application/json"}, json.dumps(media).encode()),
            "/cdn/v/t62.7118-24/media.jpg": file}


def _whatsapp(client, api, definition=None):
    driver = WhatsAppDriver(client)
    driver.bot = create_bot(definition or pizza_bot())
    driver.install(driver.bot, api)
    return driver


def _sent(api):
    return [json.loads(r[3]) for r in api.requests if r[1] == f"/{WHATSAPP_PHONE_ID}/messages"]


# --- media -----------------------------------------------------------------------------------

def test_a_users_image_is_downloaded_and_served_at_the_url_the_transcript_carries(local_channels, client):
    with graph_server(_routes()) as api:
        driver = _whatsapp(client, api)
        assert driver.image().status_code == 200
        stored = wait_for(lambda: ChannelMedia.objects.first(), what="the medium stored")
        message = wait_for(lambda: Message.objects.filter(type="image", payload__imageUrl__icontains="/channel-media/")
                           .first(), what="the transcript row pointing at it")
        replies = wait_for(lambda: _sent(api), what="the bot's reply")
    assert (stored.media_id, stored.content_type, stored.size, bytes(stored.content)) == \
        (MEDIA_ID, "image/jpeg", len(JPEG), JPEG)
    assert message.payload["whatsappMediaId"] == MEDIA_ID
    assert message.payload["imageUrl"].endswith(f"/channel-media/{stored.pk}/")
    # Both the Graph lookup and the CDN download carry the token (the CDN wants it too).
    lookup, download = [r for r in api.requests if r[1] in (f"/{MEDIA_ID}", "/cdn/v/t62.7118-24/media.jpg")]
    assert lookup[0] == download[0] == "GET"
    assert lookup[2]["Authorization"] == download[2]["Authorization"] == "Bearer EAAJB8sH1ZCLwBO0ZBtokenForTests"
    served = client.get(f"/channel-media/{stored.pk}/")
    assert served.status_code == 200 and served.content == JPEG and served["Content-Type"] == "image/jpeg"
    assert served["Content-Security-Policy"].startswith("sandbox") and served["X-Content-Type-Options"] == "nosniff"
    # The bot answered the image as always (the turn did not wait for the download).
    assert {"type": "text", "text": {"body": "Nice picture."}}.items() <= replies[0].items()


@pytest.mark.parametrize("declared", [True, False], ids=["declared size", "size found while reading"])
def test_a_medium_over_the_size_limit_is_not_downloaded(local_channels, client, settings, declared):
    settings.FLOWSTUDIO_CHANNEL_MEDIA_MAX_BYTES = 100
    answer = {"url": "{url}/cdn/v/t62.7118-24/media.jpg", "mime_type": "image/jpeg", "id": MEDIA_ID,
              **({"file_size": len(JPEG)} if declared else {})}
    # Without a declared size the CDN streams it (no Content-Length): the cap stops the read.
    file = (200, {"Content-Type": "image/jpeg", **({} if declared else {"X-Stream": "1"})}, JPEG)
    with graph_server(_routes(answer, file)) as api:
        driver = _whatsapp(client, api)
        assert driver.image().status_code == 200
        wait_for(lambda: any(r[1] == f"/{MEDIA_ID}" for r in api.requests), what="the media lookup")
        wait_for(lambda: _sent(api), what="the bot's reply")
        for thread in threading.enumerate():
            if thread.name == "messaging-media":
                thread.join(10)
    assert not ChannelMedia.objects.exists()
    assert Message.objects.get(type="image").payload["imageUrl"] == ""
    downloads = [r for r in api.requests if r[1].startswith("/cdn/")]
    assert downloads == [] if declared else len(downloads) == 1


@pytest.mark.django_db
def test_an_unknown_medium_is_404(client):
    assert client.get("/channel-media/00000000-0000-0000-0000-000000000000/").status_code == 404


# --- templates ---------------------------------------------------------------------------------

def _template_bot():
    bot = pizza_bot("Reminders")
    bot["flows"][0]["nodes"][1]["cards"].insert(0, {
        "id": "remind", "type": "text", "text": "Your order {{event.preview}} is ready.",
        "metadata": {"whatsappTemplate": {"name": "order_ready", "language": "en_US",
                                          "parameters": ["{{event.preview}}"]}}})
    return bot


def _proactive(conversation, metadata):
    """A bot message made when the user has not written for a day (a schedule, a hand back...)."""
    Message.objects.filter(conversation=conversation, direction="incoming").update(
        created_at=timezone.now() - timedelta(hours=25))
    seq = conversation.next_seq
    Conversation.objects.filter(pk=conversation.pk).update(next_seq=seq + 1)
    Message.objects.create(conversation=conversation, seq=seq, direction="outgoing", type="text",
                           payload={"text": "Your order #42 is ready."}, metadata=metadata, created_at=timezone.now())
    return sending.deliver_pending(conversation.pk)


def test_inside_the_window_a_templated_message_is_sent_as_itself(local_channels, client):
    with graph_server(_routes()) as api:
        driver = _whatsapp(client, api, _template_bot())
        driver.say("#41")
        first = wait_for(lambda: _sent(api), what="the bot's reply")[0]
    assert first["type"] == "text" and first["text"]["body"] == "Your order #41 is ready."


def test_outside_the_window_the_approved_template_goes_out(local_channels, client):
    with graph_server(_routes()) as api:
        driver = _whatsapp(client, api, _template_bot())
        driver.say("#41")
        wait_for(lambda: len(_sent(api)) >= 2, what="the bot's replies")
        conversation = Conversation.objects.get(bot=driver.bot)
        conversation.refresh_from_db()
        before = len(_sent(api))
        template = {"whatsappTemplate": {"name": "order_ready", "language": "en_US", "parameters": ["#42", 7],
                                         "components": [{"type": "button", "sub_type": "url", "index": "0",
                                                         "parameters": [{"type": "text", "text": "42"}]}]}}
        assert _proactive(conversation, template) == 1
        sent = _sent(api)[before:]
    assert sent == [{"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16315551234",
                     "type": "template", "template": {
                         "name": "order_ready", "language": {"code": "en_US"}, "components": [
                             {"type": "body", "parameters": [{"type": "text", "text": "#42"},
                                                             {"type": "text", "text": "7"}]},
                             {"type": "button", "sub_type": "url", "index": "0",
                              "parameters": [{"type": "text", "text": "42"}]}]}}]
    assert not DeliveryFailure.objects.exists()


def test_outside_the_window_a_malformed_template_is_recorded_with_its_path(local_channels, client):
    with graph_server(_routes()) as api:
        driver = _whatsapp(client, api)
        driver.say("hi")
        wait_for(lambda: _sent(api), what="the bot's reply")
        conversation = Conversation.objects.get(bot=driver.bot)
        conversation.refresh_from_db()
        before = len(_sent(api))
        assert _proactive(conversation, {"whatsappTemplate": {"name": "Order Ready!"}}) == 0
        assert len(_sent(api)) == before
    failure = DeliveryFailure.objects.get()
    assert "metadata.whatsappTemplate.name" in failure.error and failure.attempts == 1


@pytest.mark.parametrize("spec, where", [
    ("order_ready", "must be an object"),
    ({"name": "order_ready", "language": "English"}, ".language"),
    ({"name": "order_ready", "parameters": "#42"}, ".parameters"),
    ({"name": "order_ready", "parameters": [True]}, ".parameters"),
    ({"name": "order_ready", "components": [{"no": "type"}]}, ".components"),
])
def test_a_template_the_cloud_api_could_not_take_is_refused_with_what_is_wrong(spec, where):
    with pytest.raises(SendRejected, match=f"metadata.whatsappTemplate.*{where}" if where.startswith(".")
                       else where):
        meta.wa_template({"type": "text", "text": "x", "metadata": {"whatsappTemplate": spec}})
    assert meta.wa_template({"type": "text", "text": "x"}) is None
    assert meta.outside_window(None) and not meta.outside_window(timezone.now() - timedelta(hours=23))
