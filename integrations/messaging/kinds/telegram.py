"""Telegram through its Bot API (plain HTTPS JSON, https://core.telegram.org/bots/api).

Saving the channel calls setWebhook with the channel's webhook URL and a secret token of
our own; Telegram sends that token back in `X-Telegram-Bot-Api-Secret-Token` on every
update, which is how an update is known to be Telegram's. docs/channels.md, "Telegram",
lists what each message type becomes.
"""
from __future__ import annotations

import hmac
import re
import secrets

from django.conf import settings
from pydantic import Field

from . import (ChannelConfig, ChannelKind, Inbound, Refused, SendFailed, SendRejected, decode_json, fallback_text,
               register)
from .api_calls import post_json

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
# Telegram's limits: 4096 characters a message, 1024 a caption, 64 bytes of callback data.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_BYTES = 64
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")


class Config(ChannelConfig):
    bot_token: str = Field(title="Bot token", description="From @BotFather (123456:ABC-...).",
                           json_schema_extra={"secret": True})
    webhook_secret: str = Field(min_length=16, max_length=256, pattern=r"^[A-Za-z0-9_-]+$",
                                title="Webhook secret token", json_schema_extra={"secret": True},
                                description="Sent by Telegram with every update; generated.")


def api_url(config: Config, method: str) -> str:
    return f"{settings.FLOWSTUDIO_TELEGRAM_API_URL}/bot{config.bot_token}/{method}"


def _shown(method: str) -> str:
    # Errors name the method, never the URL: it holds the bot token.
    return f"Telegram {method}"


def call(config: Config, method: str, payload: dict) -> dict:
    try:
        _, answer = post_json(api_url(config, method), payload, shown_url=_shown(method))
    except (SendFailed, SendRejected) as exc:
        # The URL holds the token; a message that still carries it (a redirect's) loses it here.
        exc.args = (str(exc).replace(config.bot_token, "<bot token>"),)
        raise
    if answer.get("ok") is False:
        raise SendRejected(f"Telegram {method}: {answer.get('description', 'not ok')}")
    return answer


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _callback_data(value) -> str:
    data = str(value)
    encoded = data.encode()
    return data if len(encoded) <= CALLBACK_DATA_BYTES else encoded[:CALLBACK_DATA_BYTES].decode("utf-8", "ignore")


def inline_keyboard(options: list[dict]) -> dict:
    """One button a row: a choice's labels are often long sentences."""
    return {"inline_keyboard": [[{"text": _cut(str(o.get("label", o.get("value", ""))), 64),
                                  "callback_data": _callback_data(o.get("value", o.get("label", "")))}]
                                for o in options]}


def _card_keyboard(actions: list[dict]) -> dict | None:
    rows = []
    for action in actions:
        if action.get("action") == "url":
            rows.append([{"text": action["label"], "url": action["value"]}])
        else:
            rows.append([{"text": action["label"], "callback_data": _callback_data(action["value"])}])
    return {"inline_keyboard": rows} if rows else None


@register
class Telegram(ChannelKind):
    name = "telegram"
    label = "Telegram"
    Config = Config
    generated = ("webhook_secret",)

    def generate(self, field: str) -> str:
        # Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and -.
        return secrets.token_urlsafe(32)

    def validate(self, config):
        if not _TOKEN.match(config.bot_token):
            raise Refused(400, "the bot token does not look like one from @BotFather (123456:ABC-DEF...)")

    def on_save(self, config, webhook_url):
        try:
            call(config, "setWebhook", {"url": webhook_url, "secret_token": config.webhook_secret,
                                        "allowed_updates": ALLOWED_UPDATES})
        except (SendFailed, SendRejected) as exc:
            raise Refused(400, f"could not register the webhook with Telegram: {exc}") from None

    def verify(self, config, request, body):
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), config.webhook_secret):
            raise Refused(401, f"bad or missing {SECRET_HEADER}: the update is not from this bot's webhook")

    def parse(self, config, request, body):
        update = decode_json(body, "not a Telegram update")
        try:
            update_id = str(int(update["update_id"]))
        except (ValueError, KeyError, TypeError):
            raise Refused(400, "not a Telegram update: a JSON object with an integer update_id") from None
        if "callback_query" in update:
            query = update["callback_query"]
            message, sender = query.get("message") or {}, query.get("from") or {}
            event_type, payload = "text", {"text": str(query.get("data", ""))}
            # The button's spinner stops when the query is answered; best effort, off the request.
            _answer_callback_later(config, query.get("id"))
        else:
            message = update.get("message") or update.get("edited_message")
            if not isinstance(message, dict):
                return []  # an update type the bot does not take (we ask only for these, anyway)
            sender = message.get("from") or {}
            mapped = map_message(message)
            if mapped is None:
                return []
            event_type, payload = mapped
        chat = message.get("chat") or {}
        if "id" not in chat:
            raise Refused(400, "not a Telegram update: the message has no chat.id")
        chat_id = str(chat["id"])
        user_id = str(sender.get("id", chat_id))
        name = " ".join(p for p in (sender.get("first_name"), sender.get("last_name")) if p) or sender.get("username", "")
        return [Inbound(update_id=update_id, address_key=chat_id, address={"chat_id": chat["id"]}, user_id=user_id,
                        user_name=name, event_type=event_type, payload=payload,
                        conversation_tags={"telegram:id": chat_id}, user_tags={"telegram:id": user_id})]

    def check(self, config):
        bot = call(config, "getMe", {}).get("result")
        bot = bot if isinstance(bot, dict) else {}
        return f"connected to @{bot['username']}" if bot.get("username") else "connected"

    def send(self, config, address, outgoing):
        chat = {"chat_id": address["chat_id"]}
        for method, payload in render(outgoing.message):
            call(config, method, {**chat, **payload})


def map_message(message: dict) -> tuple[str, dict] | None:
    """A Telegram message as the bot's event (type, payload). Files keep Telegram's file id:
    their download URL holds the bot token, which must not land in the transcript."""
    caption = message.get("caption")
    extra = {"title": caption} if caption else {}
    if "text" in message:
        return "text", {"text": message["text"]}
    if message.get("photo"):
        largest = max(message["photo"], key=lambda p: p.get("width", 0) * p.get("height", 0))
        return "image", {"imageUrl": "", "telegramFileId": largest.get("file_id"), **extra}
    if "location" in message:
        location = message["location"]
        return "location", {"latitude": location.get("latitude"), "longitude": location.get("longitude")}
    for field, kind in (("voice", "audio"), ("audio", "audio"), ("video", "video"), ("document", "file")):
        if field in message:
            item = message[field]
            title = caption or item.get("file_name") or ""
            return kind, {f"{kind}Url": "", "telegramFileId": item.get("file_id"), **({"title": title} if title else {})}
    return None


def render(message: dict) -> list[tuple[str, dict]]:
    """One bot message as Bot API calls (method, payload), in order."""
    kind = message.get("type")
    if kind == "text":
        return [("sendMessage", {"text": _cut(str(message.get("text", "")), TEXT_LIMIT)})]
    if kind in ("choice", "dropdown"):
        return [("sendMessage", {"text": _cut(str(message.get("text") or "…"), TEXT_LIMIT),
                                 "reply_markup": inline_keyboard(message.get("options") or [])})]
    media = {"image": ("sendPhoto", "photo"), "audio": ("sendAudio", "audio"), "video": ("sendVideo", "video"),
             "file": ("sendDocument", "document")}
    if kind in media:
        method, field = media[kind]
        payload = {field: message.get(f"{kind}Url", "")}
        if message.get("title"):
            payload["caption"] = _cut(str(message["title"]), CAPTION_LIMIT)
        return [(method, payload)]
    if kind == "location":
        return [("sendLocation", {"latitude": message.get("latitude"), "longitude": message.get("longitude")})]
    if kind == "card":
        caption = "\n".join(str(p) for p in (message.get("title"), message.get("subtitle")) if p)
        keyboard = _card_keyboard(message.get("actions") or [])
        extra = {"reply_markup": keyboard} if keyboard else {}
        if message.get("imageUrl"):
            return [("sendPhoto", {"photo": message["imageUrl"], "caption": _cut(caption, CAPTION_LIMIT), **extra})]
        return [("sendMessage", {"text": _cut(caption or "…", TEXT_LIMIT), **extra})]
    if kind == "carousel":
        return [call for item in message.get("items") or [] for call in render({**item, "type": "card"})]
    if kind == "bloc":
        return [call for item in message.get("items") or [] for call in render(item)]
    text = fallback_text(message)
    return [("sendMessage", {"text": _cut(text, TEXT_LIMIT)})] if text else []


def _answer_callback_later(config: Config, query_id) -> None:
    if not query_id:
        return
    import threading

    def answer():
        try:
            call(config, "answerCallbackQuery", {"callback_query_id": query_id})
        except (SendFailed, SendRejected):
            pass  # only the spinner is at stake; Telegram stops it by itself after a while

    threading.Thread(target=answer, daemon=True, name="telegram-callback-answer").start()
