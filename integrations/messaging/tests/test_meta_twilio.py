"""What WhatsApp, Messenger and Twilio SMS do beyond the shared conversation tests: Meta's
verification handshake, the updates each skips, how choices, cards and media are rendered
within each channel's limits, Graph rate limits retried, Twilio's numbered answers and MMS,
and the connection test of every channel."""
import json
from urllib.parse import parse_qs, urlencode

import pytest

from integrations.chat_api.tests import asgi_client
from integrations.messaging import kinds, services
from integrations.messaging.kinds import meta, twilio_sms
from integrations.messaging.models import DeliveryFailure, InboundUpdate
from runtime.models import Conversation, Event
from runtime.tests.bots import create_bot
from runtime.tests.receiver import receiver

from .bots import pizza_bot
from .channels import (MESSENGER_PAGE_ID, TWILIO_SID, WHATSAPP_PHONE_ID, MessengerDriver, SlackDriver,
                       TelegramDriver, TwilioDriver, WhatsAppDriver)
from .conftest import wait_for, wait_for_replies

JSON = {"Content-Type": "application/json"}


def _installed(driver_class, client, *answers):
    driver = driver_class(client)
    bot = create_bot(pizza_bot())
    api = receiver(*(answers or (driver_class.ok_answer,)))
    server = api.__enter__()
    driver.install(bot, server)
    driver.bot = bot
    return driver, server, api


@pytest.fixture
def installed(local_channels, client):
    opened = []

    def install(driver_class, *answers):
        driver, server, api = _installed(driver_class, client, *answers)
        opened.append(api)
        return driver, server

    yield install
    for api in opened:
        api.__exit__(None, None, None)


def _nothing_stored(bot):
    return not Event.objects.filter(conversation__bot=bot).exists() and not InboundUpdate.objects.exists()


# --- Meta's verification handshake ------------------------------------------------------------

@pytest.mark.parametrize("driver_class", [WhatsAppDriver, MessengerDriver])
def test_the_hub_challenge_is_answered_with_the_verify_token_only(installed, driver_class):
    driver, api = installed(driver_class)
    answer = driver.verification(challenge="1158201444")
    assert (answer.status_code, answer.content, answer["Content-Type"]) == (200, b"1158201444", "text/plain")
    wrong = driver.verification(token="not-the-verify-token-at-all")
    assert wrong.status_code == 403 and "verify_token" in wrong.json()["error"]
    unsubscribe = driver.client.get(driver.url, {"hub.mode": "unsubscribe"})
    assert unsubscribe.status_code == 400 and "hub.mode=subscribe" in unsubscribe.json()["error"]
    # The verify token is generated, long, and shown to the builder (it is not a secret field).
    assert len(services.summary(driver.channel)["settings"]["verify_token"]) >= 24


def test_the_handshake_through_the_asgi_front_and_other_kinds_refusing_a_get(installed):
    driver, api = installed(WhatsAppDriver)
    token = services.config_of(driver.channel).verify_token
    status, headers, content = asgi_client.request(
        "GET", driver.url, query=f"hub.mode=subscribe&hub.verify_token={token}&hub.challenge=42")
    assert (status, content, headers.get("content-type")) == (200, b"42", "text/plain")
    telegram, _ = installed(TelegramDriver)
    status, headers, content = asgi_client.request("GET", telegram.url)
    assert status == 405 and "POST" in json.loads(content)["error"]


def test_a_disabled_meta_channel_refuses_the_handshake(installed):
    driver, api = installed(MessengerDriver)
    services.set_enabled(driver.bot, "messenger", False)
    assert driver.verification().status_code == 403


# --- what is skipped ----------------------------------------------------------------------------

def test_whatsapp_skips_statuses_and_other_numbers(installed):
    driver, api = installed(WhatsAppDriver)
    statuses = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"phone_number_id": WHATSAPP_PHONE_ID},
        "statuses": [{"id": "wamid.X", "status": "delivered", "timestamp": "1", "recipient_id": "16315551234"}]}}]}]}
    assert driver.signed_post(statuses).status_code == 200
    other = json.loads(json.dumps(statuses))
    value = other["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = "999999999"
    value["messages"] = [{"from": "1", "id": "wamid.Y", "type": "text", "text": {"body": "hi"}}]
    assert driver.signed_post(other).status_code == 200
    assert _nothing_stored(driver.bot)
    not_whatsapp = driver.signed_post({"object": "page", "entry": []})
    assert not_whatsapp.status_code == 400 and "whatsapp_business_account" in not_whatsapp.json()["error"]


def test_messenger_skips_echoes_reads_and_other_pages(installed):
    driver, api = installed(MessengerDriver)
    assert driver._message({"text": "A large pizza", "is_echo": True, "app_id": 1}).status_code == 200
    assert driver._event({"read": {"watermark": 1458668856253}}).status_code == 200
    other_page = {"object": "page", "entry": [{"id": "42", "time": 1, "messaging": [
        {"sender": {"id": "1"}, "recipient": {"id": "42"}, "message": {"mid": "m_x", "text": "hi"}}]}]}
    assert driver.signed_post(other_page).status_code == 200
    assert _nothing_stored(driver.bot)


def test_whatsapp_keeps_the_users_name_and_the_media_id_not_a_url(installed):
    driver, api = installed(WhatsAppDriver)
    driver._message({"type": "document", "document": {"id": "555", "filename": "menu.pdf",
                                                      "mime_type": "application/pdf"}})
    event = wait_for(lambda: Event.objects.filter(conversation__bot=driver.bot).first(), what="the event")
    assert event.type == "file"
    assert event.payload == {"fileUrl": "", "whatsappMediaId": "555", "mimeType": "application/pdf",
                             "title": "menu.pdf"}
    conversation = Conversation.objects.get(bot=driver.bot)
    assert conversation.user.name == "Ada" and conversation.user.tags == {"whatsapp:id": "16315551234"}
    assert conversation.tags == {"whatsapp:id": "16315551234", "whatsapp:userPhone": "16315551234",
                                 "whatsapp:phoneNumberId": WHATSAPP_PHONE_ID}


# --- rendering ------------------------------------------------------------------------------------

def _options(n):
    return [{"label": f"Option number {i}", "value": f"v{i}"} for i in range(1, n + 1)]


def test_whatsapp_choices_are_buttons_then_a_list_then_numbered_text():
    [buttons] = meta.wa_render({"type": "choice", "text": "Pick", "options": _options(3)})
    assert buttons["interactive"]["type"] == "button"
    assert [b["reply"] for b in buttons["interactive"]["action"]["buttons"]][0] == \
        {"id": "v1", "title": "Option number 1"}
    [listed] = meta.wa_render({"type": "choice", "text": "Pick", "options": _options(4)})
    rows = listed["interactive"]["action"]["sections"][0]["rows"]
    assert listed["interactive"]["type"] == "list" and len(rows) == 4 and rows[0]["id"] == "v1"
    [dropdown] = meta.wa_render({"type": "dropdown", "text": "Pick", "options": _options(10)})
    assert dropdown["interactive"]["type"] == "list"
    [numbered] = meta.wa_render({"type": "dropdown", "text": "Pick", "options": _options(11)})
    assert numbered["text"]["body"].splitlines()[:2] == ["Pick", "1. Option number 1"]
    long = meta.wa_render({"type": "choice", "text": "x", "options": [{"label": "L" * 40, "value": "v"}]})[0]
    assert len(long["interactive"]["action"]["buttons"][0]["reply"]["title"]) == meta.WA_BUTTON_TITLE


def test_whatsapp_cards_media_and_locations():
    card = {"type": "card", "title": "Margherita", "subtitle": "Tomato, mozzarella",
            "imageUrl": "https://example.org/m.png",
            "actions": [{"action": "postback", "label": f"Order {n}", "value": f"order-{n}"} for n in range(1, 5)]
            + [{"action": "url", "label": "Menu", "value": "https://example.org/menu"}]}
    first, second, link = [m["interactive"] for m in meta.wa_render(card)]
    assert first["header"] == {"type": "image", "image": {"link": "https://example.org/m.png"}}
    assert first["body"]["text"] == "Margherita\nTomato, mozzarella"
    assert [b["reply"]["id"] for b in first["action"]["buttons"]] == ["order-1", "order-2", "order-3"]
    assert (second["body"]["text"], [b["reply"]["id"] for b in second["action"]["buttons"]]) == \
        ("Margherita", ["order-4"])
    assert "header" not in second
    assert link["type"] == "cta_url" and link["action"]["parameters"] == \
        {"display_text": "Menu", "url": "https://example.org/menu"}
    plain = {"type": "card", "title": "Margherita", "imageUrl": "https://example.org/m.png"}
    assert meta.wa_render(plain) == [{"type": "image", "image": {"link": "https://example.org/m.png",
                                                                 "caption": "Margherita"}}]
    assert len(meta.wa_render({"type": "carousel", "items": [card, plain]})) == 4
    assert meta.wa_render({"type": "file", "fileUrl": "https://example.org/a.pdf", "title": "a.pdf"}) == [
        {"type": "document", "document": {"link": "https://example.org/a.pdf", "caption": "a.pdf", "filename": "a.pdf"}}]
    assert meta.wa_render({"type": "audio", "audioUrl": "https://example.org/a.mp3", "title": "x"}) == [
        {"type": "audio", "audio": {"link": "https://example.org/a.mp3"}}]
    assert meta.wa_render({"type": "location", "latitude": 1.5, "longitude": 2.5, "title": "Shop"}) == [
        {"type": "location", "location": {"latitude": 1.5, "longitude": 2.5, "name": "Shop"}}]


def test_messenger_choices_cards_carousels_and_locations():
    [quick] = meta.ms_render({"type": "choice", "text": "Pick", "options": _options(13)})
    assert len(quick["quick_replies"]) == 13 and quick["quick_replies"][0]["payload"] == "v1"
    [numbered] = meta.ms_render({"type": "dropdown", "text": "Pick", "options": _options(14)})
    assert numbered["text"].splitlines()[14] == "14. Option number 14"
    card = {"title": "Margherita", "imageUrl": "https://example.org/m.png",
            "actions": [{"action": "postback", "label": "Order", "value": "order"},
                        {"action": "url", "label": "Menu", "value": "https://example.org/menu"}]}
    [generic] = meta.ms_render({"type": "carousel", "items": [card] * 11})[:1]
    elements = generic["attachment"]["payload"]["elements"]
    assert len(elements) == meta.MS_ELEMENTS and elements[0]["buttons"] == [
        {"type": "postback", "title": "Order", "payload": "order"},
        {"type": "web_url", "url": "https://example.org/menu", "title": "Menu"}]
    assert len(meta.ms_render({"type": "carousel", "items": [card] * 11})) == 2
    [place] = meta.ms_render({"type": "location", "latitude": 1.5, "longitude": 2.5, "title": "Shop"})
    assert place["text"].startswith("Shop") and "query=1.5,2.5" in place["text"]
    assert meta.ms_render({"type": "video", "videoUrl": "https://example.org/v.mp4"}) == [
        {"attachment": {"type": "video", "payload": {"url": "https://example.org/v.mp4", "is_reusable": True}}}]


def test_twilio_renders_choices_as_numbers_and_cards_as_text_with_a_picture():
    assert twilio_sms.render({"type": "choice", "text": "Size?", "options": _options(2)}) == [
        ("Size?\n1. Option number 1\n2. Option number 2", [])]
    card = {"type": "card", "title": "Margherita", "imageUrl": "https://example.org/m.png",
            "actions": [{"action": "say", "label": "Order", "value": "order"},
                        {"action": "url", "label": "Menu", "value": "https://example.org/menu"}]}
    assert twilio_sms.render(card) == [("Margherita\nMenu: https://example.org/menu\n1. Order",
                                        ["https://example.org/m.png"])]
    assert twilio_sms.render({"type": "video", "videoUrl": "https://example.org/v.mp4"}) == [
        ("", ["https://example.org/v.mp4"])]


# --- sending ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("driver_class", [WhatsAppDriver, MessengerDriver])
def test_a_graph_rate_limit_reported_as_a_400_is_retried(installed, driver_class):
    limited = (400, JSON, b'{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,'
                          b'"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}')
    driver, api = installed(driver_class, limited, driver_class.ok_answer)
    driver.say("hi")
    assert wait_for_replies(driver, api, 2) == [("text", "What is your name?")] * 2
    assert not DeliveryFailure.objects.exists()


def test_a_graph_refusal_is_recorded_with_metas_words(installed):
    refused = (400, JSON, b'{"error":{"message":"(#131030) Recipient phone number not in allowed list",'
                          b'"type":"OAuthException","code":131030}}')
    driver, api = installed(WhatsAppDriver, refused)
    driver.say("hi")
    failure = wait_for(lambda: DeliveryFailure.objects.first(), what="a recorded failure")
    assert "Recipient phone number not in allowed list (code 131030)" in failure.error
    assert failure.status_code == 400 and len(driver.sends(api)) == 1


def test_replies_carry_the_token_in_a_header_not_the_url(installed):
    driver, api = installed(MessengerDriver)
    driver.say("hi")
    wait_for_replies(driver, api, 1)
    [(method, path, headers, body)] = driver.sends(api)
    assert headers["Authorization"] == "Bearer EAAJB8sH1ZCLwBPageTokenForTests" and "token" not in path
    assert json.loads(body)["recipient"] == {"id": "6783465290042361"}


# --- Twilio ----------------------------------------------------------------------------------------

def test_twilio_takes_the_choices_number_and_acknowledges_with_empty_twiml(installed):
    driver, api = installed(TwilioDriver)
    answer = driver.say("hi")
    assert answer["Content-Type"] == "text/xml"
    assert answer.content == b'<?xml version="1.0" encoding="UTF-8"?><Response />'
    wait_for_replies(driver, api, 1)
    driver.say("Ada")
    assert wait_for_replies(driver, api, 2)[1] == ("choice", "Which size, Ada?", ["Small", "Large"])
    driver.say("2")
    assert wait_for_replies(driver, api, 4)[2:] == [("text", "A large pizza for Ada."),
                                                    ("image", "https://example.org/large.png")]
    form = parse_qs(driver.sends(api)[-1][3].decode())
    assert form == {"To": ["+14155550123"], "From": ["+15017122661"], "Body": ["Your pizza"],
                    "MediaUrl": ["https://example.org/large.png"]}
    assert driver.sends(api)[0][2]["Authorization"].startswith("Basic ")


def test_twilio_mms_in_is_one_event_a_picture_with_the_text_as_title(installed):
    driver, api = installed(TwilioDriver)
    driver._message({"Body": "look", "NumMedia": "2", "MediaContentType0": "image/jpeg",
                     "MediaUrl0": "https://api.twilio.com/m/ME1", "MediaContentType1": "audio/amr",
                     "MediaUrl1": "https://api.twilio.com/m/ME2"}, update_id="MM" + "0" * 32)
    wait_for_replies(driver, api, 1)
    events = list(Event.objects.filter(conversation__bot=driver.bot).order_by("pk"))
    assert [(e.type, e.payload) for e in events] == [
        ("image", {"imageUrl": "https://api.twilio.com/m/ME1", "mimeType": "image/jpeg", "title": "look"}),
        ("audio", {"audioUrl": "https://api.twilio.com/m/ME2", "mimeType": "audio/amr"})]
    assert sorted(InboundUpdate.objects.values_list("update_id", flat=True)) == ["MM" + "0" * 32, "MM" + "0" * 32 + ":1"]


def test_twilio_refuses_another_account_and_a_json_body(installed):
    driver, api = installed(TwilioDriver)
    answer = driver._message({"Body": "hi", "AccountSid": "AC" + "f" * 32})
    assert answer.status_code == 403 and "another Twilio account" in answer.json()["error"]
    answer = driver.post(b"{}", "application/json", {"X-Twilio-Signature": "x"})
    assert answer.status_code == 400 and "x-www-form-urlencoded" in answer.json()["error"]
    assert _nothing_stored(driver.bot)


def test_a_twilio_config_that_is_not_one_is_refused_on_save(local_channels):
    bot = create_bot(pizza_bot())
    with pytest.raises(services.ChannelError, match="account_sid") as caught:
        services.configure(bot, "twilio", {"account_sid": "nope", "auth_token": "0123456789abcdef0", "sender": "+15017122661"})
    assert "Twilio SMS" in str(caught.value)


# --- test connection ---------------------------------------------------------------------------------

CONNECTION_ANSWERS = {
    TelegramDriver: ((200, JSON, b'{"ok":true,"result":{"id":123456,"is_bot":true,"first_name":"Pizza",'
                                  b'"username":"pizza_bot"}}'), "Telegram: connected to @pizza_bot",
                     "/getMe"),
    SlackDriver: ((200, JSON, b'{"ok":true,"url":"https://acme.slack.com/","team":"Acme","user":"pizzabot",'
                               b'"team_id":"T1","user_id":"U1","bot_id":"B1"}'),
                  "Slack: connected to the workspace Acme as @pizzabot", "/auth.test"),
    WhatsAppDriver: ((200, JSON, b'{"display_phone_number":"+1 555-078-3881","verified_name":"Pizza Place",'
                                 b'"id":"106540352242922"}'),
                     "WhatsApp: connected to +1 555-078-3881 (Pizza Place)", f"/{WHATSAPP_PHONE_ID}"),
    MessengerDriver: ((200, JSON, b'{"name":"Pizza Place","id":"' + MESSENGER_PAGE_ID.encode() + b'"}'),
                      "Messenger: connected to the Page Pizza Place", "/me"),
    TwilioDriver: ((200, JSON, b'{"friendly_name":"Pizza Inc","status":"active","sid":"' + TWILIO_SID.encode() + b'"}'),
                   "Twilio SMS: connected to the Twilio account Pizza Inc (active)", f"/2010-04-01/Accounts/{TWILIO_SID}.json"),
}


@pytest.mark.parametrize("driver_class", list(CONNECTION_ANSWERS), ids=lambda d: d.kind)
def test_test_connection_calls_the_channels_api_and_says_what_it_found(installed, driver_class):
    answer, message, path = CONNECTION_ANSWERS[driver_class]
    setup = [TelegramDriver.ok_answer] if driver_class is TelegramDriver else []  # setWebhook on save
    driver, api = installed(driver_class, *setup, answer)
    assert services.test_connection(driver.bot, driver.kind) == (True, message)
    assert api.requests[-1][1].split("?")[0].endswith(path)


@pytest.mark.parametrize("driver_class", [TelegramDriver, WhatsAppDriver, TwilioDriver], ids=lambda d: d.kind)
def test_a_failing_connection_test_says_what_the_channel_answered(installed, driver_class):
    refused = (401, JSON, b'{"ok":false,"error_code":401,"description":"Unauthorized",'
                          b'"error":{"message":"Invalid OAuth access token","code":190},'
                          b'"code":20003,"message":"Authenticate"}')
    setup = [TelegramDriver.ok_answer] if driver_class is TelegramDriver else []
    driver, api = installed(driver_class, *setup, refused)
    ok, message = services.test_connection(driver.bot, driver.kind)
    assert not ok and "the connection test failed" in message and "answered 401" in message
    config = services.config_of(driver.channel)
    for secret in ("bot_token", "access_token", "auth_token"):
        assert not getattr(config, secret, None) or getattr(config, secret) not in message


def test_the_webhook_channel_has_no_connection_test():
    assert not services.has_connection_test("webhook")
    assert all(services.has_connection_test(k) for k in ("telegram", "slack", "whatsapp", "messenger", "twilio"))


MALFORMED_WHATSAPP = [
    {"object": "whatsapp_business_account", "entry": ["x", 1, None]},
    {"object": "whatsapp_business_account", "entry": [{"changes": "x"}]},
    {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": WHATSAPP_PHONE_ID}, "messages": [{"id": "w1", "from": "1", "type": ["text"]}]}}]}]},
    {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
        "contacts": [{"profile": "x"}], "messages": [{"id": "w2", "from": "1", "type": "interactive",
                                                       "interactive": {"button_reply": "yes"}}]}}]}]},
    {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
        "messages": ["hi"]}}]}]},
    {"object": "whatsapp_business_account"},
    ["not", "an", "object"],
]
MALFORMED_MESSENGER = [
    {"object": "page", "entry": [{"id": MESSENGER_PAGE_ID, "messaging": "x"}]},
    {"object": "page", "entry": [{"id": MESSENGER_PAGE_ID, "messaging": [{"sender": "x", "message": {"mid": "m"}}]}]},
    {"object": "page", "entry": [{"id": MESSENGER_PAGE_ID, "messaging": [
        {"sender": {"id": "1"}, "message": {"mid": "m", "attachments": "x"}}]}]},
    {"object": "page", "entry": [{"id": MESSENGER_PAGE_ID, "messaging": [
        {"sender": {"id": "1"}, "message": {"mid": "m", "attachments": [{"type": "image", "payload": "x"}]}}]}]},
]


@pytest.mark.parametrize("driver_class, envelope",
                         [(WhatsAppDriver, e) for e in MALFORMED_WHATSAPP] + [(MessengerDriver, e) for e in MALFORMED_MESSENGER])
def test_a_malformed_meta_envelope_is_a_clear_4xx_or_skipped_never_a_500(installed, driver_class, envelope):
    driver, api = installed(driver_class)
    answer = driver.signed_post(envelope)
    # Skipped (200: nothing in it for the bot) or refused with the channel named; never a 500,
    # and nothing half-stored either way.
    assert answer.status_code in (200, 400)
    if answer.status_code == 400:
        assert f"not a {kinds.get(driver.kind).label} " in answer.json()["error"]
    assert _nothing_stored(driver.bot)


def test_a_twilio_status_callback_is_skipped(installed):
    driver, api = installed(TwilioDriver)
    assert driver._message({"MessageStatus": "delivered", "SmsStatus": "delivered"}).status_code == 200
    assert _nothing_stored(driver.bot)


def test_a_twilio_form_with_a_nul_or_bad_utf8_is_refused_with_the_field_named(installed):
    driver, api = installed(TwilioDriver)
    answer = driver.say("a\x00b")
    assert answer.status_code == 400 and "'Body' contains the NUL character" in answer.json()["error"]
    form = {"MessageSid": "SM" + "1" * 32, "From": "+14155550123", "AccountSid": TWILIO_SID, "Body": "x"}
    body = urlencode(form).replace("Body=x", "Body=%ED%A0%80").encode()  # a lone surrogate's bytes
    from .channels import twilio_signature

    signature = twilio_signature(services.webhook_url(driver.channel), {**form, "Body": "\ufffd\ufffd\ufffd"})
    answer = driver.post(body, "application/x-www-form-urlencoded", {"X-Twilio-Signature": signature})
    assert answer.status_code == 400 and "not UTF-8" in answer.json()["error"]
    assert _nothing_stored(driver.bot)
