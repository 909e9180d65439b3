"""Test drivers, one per channel: each installs its channel on a bot against a local server
that answers like the channel's API, builds the channel's real inbound requests (signed with
the channel's real algorithm) and reads the replies the bot sent back out of what that server
received, in one shape for every channel: ("text", text), ("choice", text, [labels]),
("image", url)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from itertools import count
from urllib.parse import parse_qs, urlencode

from django.conf import settings

from integrations.messaging import services
from integrations.messaging.kinds import webhook as webhook_kind

TELEGRAM_TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
_ids = count(1000)


class Driver:
    kind = ""
    ok_answer = (200, {"Content-Type": "application/json"}, b"{}")

    def __init__(self, client):
        self.client = client
        self.channel = None

    def install(self, bot, api):
        raise NotImplementedError

    @property
    def url(self) -> str:
        return services.webhook_path(self.channel)

    def post(self, body: bytes, content_type: str, headers: dict):
        return self.client.post(self.url, data=body, content_type=content_type, headers=headers)

    def sends(self, api) -> list:
        """The requests the bot made to deliver replies (not setWebhook and the like)."""
        return [r for r in api.requests if self.is_reply(r)]

    def replies(self, api) -> list[tuple]:
        return [self.normalise(json.loads(r[3])) for r in self.sends(api)]


class WebhookDriver(Driver):
    kind = "webhook"
    secret = "webhook-secret-for-tests"
    ok_answer = (200, {}, b"")

    def install(self, bot, api):
        self.channel = services.configure(bot, "webhook", {"url": api.url + "/hook", "secret": self.secret})

    def signed(self, update: dict, *, secret=None, timestamp=None):
        body = json.dumps(update).encode()
        stamp = int(timestamp if timestamp is not None else time.time())
        return body, {webhook_kind.TIMESTAMP_HEADER: str(stamp),
                      webhook_kind.SIGNATURE_HEADER: webhook_kind.sign(secret or self.secret, stamp, body)}

    def _message(self, message: dict, *, update_id=None, chat="chat-1", user="user-1", **sign):
        update = {"id": str(update_id or next(_ids)), "conversationId": chat, "userId": user, "message": message}
        body, headers = self.signed(update, **sign)
        return self.post(body, "application/json", headers)

    def say(self, text, **kw):
        return self._message({"type": "text", "text": text}, **kw)

    def press(self, label, value, **kw):
        return self._message({"type": "text", "text": value}, **kw)

    def image(self, **kw):
        return self._message({"type": "image", "imageUrl": "https://example.org/in.png"}, **kw)

    def location(self, **kw):
        return self._message({"type": "location", "latitude": 48.85, "longitude": 2.35}, **kw)

    def bad_signature(self, text):
        return self.say(text, secret="not-the-secret")

    def is_reply(self, request):
        return request[1] == "/hook"

    def normalise(self, body):
        message = body["message"]
        if message["type"] in ("choice", "dropdown"):
            return ("choice", message["text"], [o["label"] for o in message["options"]])
        if message["type"] == "image":
            return ("image", message["imageUrl"])
        return ("text", message.get("text"))


class TelegramDriver(Driver):
    kind = "telegram"
    ok_answer = (200, {"Content-Type": "application/json"},
                 b'{"ok":true,"result":{"message_id":1,"date":1767268800,"chat":{"id":4242,"type":"private"}}}')

    def install(self, bot, api):
        settings.FLOWSTUDIO_TELEGRAM_API_URL = api.url
        self.channel = services.configure(bot, "telegram", {"bot_token": TELEGRAM_TOKEN})

    @property
    def secret_token(self):
        return services.config_of(self.channel).webhook_secret

    def _update(self, content: dict, *, update_id=None, token=None, chat=4242):
        update = {"update_id": update_id or next(_ids), **content}
        for key in ("message", "callback_query"):
            if key in update and key == "message":
                update[key] = {"message_id": next(_ids), "date": int(time.time()),
                               "chat": {"id": chat, "type": "private", "first_name": "Ada"},
                               "from": {"id": chat, "is_bot": False, "first_name": "Ada"}, **update[key]}
        return self.post(json.dumps(update).encode(), "application/json",
                         {"X-Telegram-Bot-Api-Secret-Token": token if token is not None else self.secret_token})

    def say(self, text, **kw):
        return self._update({"message": {"text": text}}, **kw)

    def press(self, label, value, *, chat=4242, **kw):
        return self._update({"callback_query": {
            "id": str(next(_ids)), "from": {"id": chat, "is_bot": False, "first_name": "Ada"},
            "message": {"message_id": 7, "date": int(time.time()), "chat": {"id": chat, "type": "private"},
                        "text": "Which size?"},
            "chat_instance": "-123", "data": value}}, chat=chat, **kw)

    def image(self, **kw):
        return self._update({"message": {"photo": [
            {"file_id": "AgAD-small", "file_unique_id": "s", "width": 90, "height": 60, "file_size": 1000},
            {"file_id": "AgAD-large", "file_unique_id": "l", "width": 1280, "height": 853, "file_size": 90000}]}},
            **kw)

    def location(self, **kw):
        return self._update({"message": {"location": {"latitude": 48.85, "longitude": 2.35}}}, **kw)

    def bad_signature(self, text):
        return self.say(text, token="not-the-token")

    def is_reply(self, request):
        return request[1].rsplit("/", 1)[-1] in ("sendMessage", "sendPhoto", "sendLocation", "sendDocument")

    def normalise(self, body):
        if "photo" in body:
            return ("image", body["photo"])
        if "reply_markup" in body:
            return ("choice", body["text"], [row[0]["text"] for row in body["reply_markup"]["inline_keyboard"]])
        return ("text", body["text"])


class SlackDriver(Driver):
    kind = "slack"
    ok_answer = (200, {"Content-Type": "application/json"}, b'{"ok":true,"channel":"D024BE91L","ts":"1.000001"}')

    def install(self, bot, api):
        settings.FLOWSTUDIO_SLACK_API_URL = api.url
        self.channel = services.configure(bot, "slack", {"bot_token": "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7",
                                                         "signing_secret": SLACK_SIGNING_SECRET})

    @staticmethod
    def signature(body: bytes, timestamp: str, secret=SLACK_SIGNING_SECRET) -> str:
        # https://api.slack.com/authentication/verifying-requests-from-slack
        base = b"v0:" + timestamp.encode() + b":" + body
        return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()

    def _signed_post(self, body: bytes, content_type: str, *, secret=SLACK_SIGNING_SECRET, timestamp=None):
        stamp = str(int(timestamp if timestamp is not None else time.time()))
        return self.post(body, content_type, {"X-Slack-Request-Timestamp": stamp,
                                              "X-Slack-Signature": self.signature(body, stamp, secret)})

    def event(self, event: dict, *, update_id=None, **sign):
        envelope = {"token": "verification-token", "team_id": "T061EG9R6", "api_app_id": "A0PNCHHK2",
                    "event": {"type": "message", "channel": "D024BE91L", "user": "U2147483697",
                              "ts": f"{time.time():.6f}", "channel_type": "im", **event},
                    "type": "event_callback", "event_id": update_id or f"Ev{next(_ids)}",
                    "event_time": int(time.time())}
        return self._signed_post(json.dumps(envelope).encode(), "application/json", **sign)

    def say(self, text, **kw):
        return self.event({"text": text}, **kw)

    def press(self, label, value, **kw):
        payload = {"type": "block_actions", "user": {"id": "U2147483697", "name": "ada"},
                   "channel": {"id": "D024BE91L", "name": "directmessage"},
                   "container": {"type": "message", "message_ts": "1.000001", "channel_id": "D024BE91L"},
                   "trigger_id": f"{next(_ids)}.abc", "actions": [
                       {"action_id": "choice-1", "block_id": "b1", "type": "button", "value": value,
                        "text": {"type": "plain_text", "text": label}, "action_ts": f"{time.time():.6f}"}]}
        return self._signed_post(urlencode({"payload": json.dumps(payload)}).encode(),
                                 "application/x-www-form-urlencoded")

    def image(self, **kw):
        return self.event({"subtype": "file_share", "text": "", "files": [
            {"id": "F0S43PZDF", "name": "pizza.png", "mimetype": "image/png",
             "url_private": "https://files.slack.com/files-pri/T061EG9R6-F0S43PZDF/pizza.png"}]}, **kw)

    def location(self, **kw):
        raise NotImplementedError("Slack has no location messages")

    def bad_signature(self, text):
        return self.event({"text": text}, secret="not-the-signing-secret")

    def is_reply(self, request):
        return request[1] == "/chat.postMessage"

    def normalise(self, body):
        blocks = body.get("blocks") or []
        for block in blocks:
            if block["type"] == "actions":
                labels = [e["text"]["text"] for e in block["elements"] if e["type"] == "button"]
                return ("choice", body["text"], labels)
            if block["type"] == "image":
                return ("image", block["image_url"])
        return ("text", body["text"])


META_APP_SECRET = "3f1b2c9d8e7a6b5c4d3e2f1a0b9c8d7e"
WHATSAPP_PHONE_ID = "106540352242922"
WHATSAPP_USER = "16315551234"
MESSENGER_PAGE_ID = "1067280970047460"
MESSENGER_PSID = "6783465290042361"
TWILIO_SID = "AC" + "a1b2c3d4" * 4
TWILIO_TOKEN = "twilio-auth-token-0123456789abcdef"
TWILIO_NUMBER = "+15017122661"
TWILIO_USER = "+14155550123"


class MetaDriver(Driver):
    """What WhatsApp and Messenger share: a JSON envelope signed with the app secret."""

    def signed_post(self, envelope: dict, *, secret=META_APP_SECRET):
        body = json.dumps(envelope).encode()
        # https://developers.facebook.com/docs/messenger-platform/webhooks#validate-payloads
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return self.post(body, "application/json", {"X-Hub-Signature-256": signature})

    def bad_signature(self, text):
        return self.say(text, secret="not-the-app-secret-at-all")

    def verification(self, token=None, challenge="1158201444"):
        token = token if token is not None else services.config_of(self.channel).verify_token
        return self.client.get(self.url, {"hub.mode": "subscribe", "hub.verify_token": token,
                                          "hub.challenge": challenge})


class WhatsAppDriver(MetaDriver):
    kind = "whatsapp"
    ok_answer = (200, {"Content-Type": "application/json"},
                 b'{"messaging_product":"whatsapp","contacts":[{"input":"16315551234","wa_id":"16315551234"}],'
                 b'"messages":[{"id":"wamid.HBgLMTYzMTU1NTEyMzQVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"}]}')

    def install(self, bot, api):
        settings.FLOWSTUDIO_META_GRAPH_API_URL = api.url
        self.channel = services.configure(bot, "whatsapp", {
            "phone_number_id": WHATSAPP_PHONE_ID, "access_token": "EAAJB8sH1ZCLwBO0ZBtokenForTests",
            "app_secret": META_APP_SECRET})

    def _message(self, message: dict, *, update_id=None, **sign):
        # https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples
        envelope = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
            "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": WHATSAPP_PHONE_ID},
                "contacts": [{"profile": {"name": "Ada"}, "wa_id": WHATSAPP_USER}],
                "messages": [{"from": WHATSAPP_USER, "id": str(update_id or f"wamid.{next(_ids)}"),
                              "timestamp": str(int(time.time())), **message}]}}]}]}
        return self.signed_post(envelope, **sign)

    def say(self, text, **kw):
        return self._message({"type": "text", "text": {"body": text}}, **kw)

    def press(self, label, value, **kw):
        return self._message({"type": "interactive", "interactive": {
            "type": "button_reply", "button_reply": {"id": value, "title": label}}}, **kw)

    def image(self, **kw):
        return self._message({"type": "image", "image": {
            "mime_type": "image/jpeg", "sha256": "HgsrVmhnzvkEULb/JqS8y0UTSR8IR5KzSIdC4z4eHrA=",
            "id": "1003383421387256"}}, **kw)

    def location(self, **kw):
        return self._message({"type": "location", "location": {"latitude": 48.85, "longitude": 2.35}}, **kw)

    def is_reply(self, request):
        return request[1] == f"/{WHATSAPP_PHONE_ID}/messages"

    def normalise(self, body):
        if body["type"] == "interactive":
            interactive = body["interactive"]
            if interactive["type"] == "button":
                labels = [b["reply"]["title"] for b in interactive["action"]["buttons"]]
            else:
                labels = [r["title"] for s in interactive["action"]["sections"] for r in s["rows"]]
            return ("choice", interactive["body"]["text"], labels)
        if body["type"] == "image":
            return ("image", body["image"]["link"])
        return ("text", body["text"]["body"])


class MessengerDriver(MetaDriver):
    kind = "messenger"
    ok_answer = (200, {"Content-Type": "application/json"},
                 b'{"recipient_id":"6783465290042361","message_id":"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"}')

    def install(self, bot, api):
        settings.FLOWSTUDIO_META_GRAPH_API_URL = api.url
        self.channel = services.configure(bot, "messenger", {
            "page_id": MESSENGER_PAGE_ID, "page_access_token": "EAAJB8sH1ZCLwBPageTokenForTests",
            "app_secret": META_APP_SECRET})

    def _event(self, content: dict, **sign):
        # https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages
        now = int(time.time() * 1000)
        envelope = {"object": "page", "entry": [{"id": MESSENGER_PAGE_ID, "time": now, "messaging": [{
            "sender": {"id": MESSENGER_PSID}, "recipient": {"id": MESSENGER_PAGE_ID}, "timestamp": now, **content}]}]}
        return self.signed_post(envelope, **sign)

    def _message(self, message: dict, *, update_id=None, **sign):
        return self._event({"message": {"mid": str(update_id or f"m_{next(_ids)}"), **message}}, **sign)

    def say(self, text, **kw):
        return self._message({"text": text}, **kw)

    def press(self, label, value, **kw):
        return self._message({"text": label, "quick_reply": {"payload": value}}, **kw)

    def image(self, **kw):
        return self._message({"attachments": [{"type": "image", "payload": {
            "url": "https://scontent.xx.fbcdn.net/v/t1.15752-9/in.png?_nc_cat=1"}}]}, **kw)

    def location(self, **kw):
        return self._message({"attachments": [{"type": "location", "payload": {
            "coordinates": {"lat": 48.85, "long": 2.35}}}]}, **kw)

    def is_reply(self, request):
        return request[1] == "/me/messages"

    def normalise(self, body):
        message = body["message"]
        if "quick_replies" in message:
            return ("choice", message["text"], [q["title"] for q in message["quick_replies"]])
        if "attachment" in message:
            attachment = message["attachment"]
            if attachment["type"] == "template":
                return ("image", attachment["payload"]["elements"][0]["image_url"])
            return (attachment["type"], attachment["payload"]["url"])
        return ("text", message["text"])


def twilio_signature(url: str, form: dict, token=TWILIO_TOKEN) -> str:
    # https://www.twilio.com/docs/usage/webhooks/webhooks-security: the URL, then each
    # field's name and value sorted by name, HMAC-SHA1 with the Auth Token, in base64.
    data = url + "".join(name + form[name] for name in sorted(form))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


class TwilioDriver(Driver):
    kind = "twilio"
    ok_answer = (201, {"Content-Type": "application/json"},
                 b'{"account_sid":"ACa1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4","api_version":"2010-04-01",'
                 b'"body":"ok","num_media":"0","num_segments":"1","sid":"SM1f0e8ae6ade43cb3c0ce4525424e404f",'
                 b'"status":"queued"}')

    def install(self, bot, api):
        settings.FLOWSTUDIO_TWILIO_API_URL = api.url
        self.channel = services.configure(bot, "twilio", {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                                                          "sender": TWILIO_NUMBER})

    def _message(self, fields: dict, *, update_id=None, token=TWILIO_TOKEN):
        # https://www.twilio.com/docs/messaging/guides/webhook-request
        form = {"ToCountry": "US", "SmsMessageSid": "", "NumMedia": "0", "SmsSid": "", "SmsStatus": "received",
                "Body": "", "To": TWILIO_NUMBER, "NumSegments": "1", "From": TWILIO_USER,
                "AccountSid": TWILIO_SID, "ApiVersion": "2010-04-01", **fields}
        sid = str(update_id or f"SM{next(_ids):032x}")
        form.update(MessageSid=sid, SmsMessageSid=sid, SmsSid=sid)
        signature = twilio_signature(services.webhook_url(self.channel), form, token)
        return self.post(urlencode(form).encode(), "application/x-www-form-urlencoded",
                         {"X-Twilio-Signature": signature})

    def say(self, text, **kw):
        return self._message({"Body": text}, **kw)

    def press(self, label, value, **kw):
        return self._message({"Body": label}, **kw)  # SMS has no buttons: the user types the choice

    def image(self, **kw):
        return self._message({"NumMedia": "1", "MediaContentType0": "image/jpeg",
                              "MediaUrl0": f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages/"
                                           "MM800f449d0399ed014aae2bcc0cc2f2ec/Media/ME0b9a5c0b7e8c4b1a"}, **kw)

    def location(self, **kw):
        raise NotImplementedError("SMS has no location messages")

    def bad_signature(self, text):
        return self.say(text, token="not-the-auth-token-at-all")

    def is_reply(self, request):
        return request[1] == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"

    def replies(self, api) -> list[tuple]:
        return [self.normalise(parse_qs(r[3].decode())) for r in self.sends(api)]

    def normalise(self, form):
        if form.get("MediaUrl"):
            return ("image", form["MediaUrl"][0])
        lines = form["Body"][0].split("\n")
        numbered = [line.split(". ", 1)[1] for line in lines[1:] if line[:1].isdigit()]
        if numbered and len(numbered) == len(lines) - 1:
            return ("choice", lines[0], numbered)
        return ("text", form["Body"][0])


DRIVERS = {driver.kind: driver for driver in (WebhookDriver, TelegramDriver, SlackDriver, WhatsAppDriver,
                                              MessengerDriver, TwilioDriver)}
