"""Test drivers, one per channel: each installs its channel on a bot against a local server
that answers like the channel's API, builds the channel's real inbound requests (signed with
the channel's real algorithm) and reads the replies the bot sent back out of what that server
received, in one shape for every channel: ("text", text), ("choice", text, [labels]),
("image", url)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from itertools import count
from urllib.parse import urlencode

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


DRIVERS = {driver.kind: driver for driver in (WebhookDriver, TelegramDriver, SlackDriver)}
