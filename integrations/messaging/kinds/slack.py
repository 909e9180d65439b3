"""Slack through the Events API and the Web API (https://api.slack.com/apis/events-api).

Every inbound request is checked with slack_sdk's SignatureVerifier (the signing secret, the
`v0` HMAC over `v0:<timestamp>:<body>`, a five-minute timestamp window). The Events API's
URL verification is answered with its challenge. Messages come as `event_callback`s,
button presses and menu picks as `block_actions` (Interactivity, form-encoded `payload`).
Replies are `chat.postMessage` with Block Kit blocks built with slack_sdk's models; the call
goes through the outbound guard rather than slack_sdk's own HTTP client, which would not.
"""
from __future__ import annotations

from urllib.parse import parse_qs

from django.conf import settings
from pydantic import Field
from slack_sdk.models.blocks import (ActionsBlock, ButtonElement, ImageBlock, MarkdownTextObject, Option,
                                     SectionBlock, StaticSelectElement)
from slack_sdk.signature import SignatureVerifier

from . import ChannelConfig, ChannelKind, Inbound, Refused, SendRejected, decode_json, fallback_text, register
from .api_calls import post_json

# Slack's limits: 3000 characters a section's text, 75 a button's, 2000 a button value,
# 100 options a static menu, 25 elements an actions block.
SECTION_LIMIT = 3000
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
MENU_OPTIONS = 100
BUTTONS_PER_BLOCK = 25
# At most this many options as buttons; more become a menu.
MAX_BUTTONS = 5


class Config(ChannelConfig):
    bot_token: str = Field(title="Bot token", description="Bot User OAuth Token (xoxb-...).",
                           json_schema_extra={"secret": True})
    signing_secret: str = Field(title="Signing secret", description="Basic Information → App Credentials.",
                                json_schema_extra={"secret": True})
    bot_name: str = Field(default="", title="Bot name", description="Shown as the sender (chat:write.customize).")
    bot_avatar_url: str = Field(default="", title="Bot avatar URL")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


@register
class Slack(ChannelKind):
    name = "slack"
    label = "Slack"
    Config = Config

    def validate(self, config):
        if not config.bot_token.startswith("xox"):
            raise Refused(400, "the bot token must be the Bot User OAuth Token (xoxb-...)")

    def verify(self, config, request, body):
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        # slack_sdk raises on a timestamp that is not a number; that is a refusal, not a 500.
        if not (timestamp.isdigit() and signature
                and SignatureVerifier(config.signing_secret).is_valid(body, timestamp, signature)):
            raise Refused(401, "bad or missing X-Slack-Signature, or X-Slack-Request-Timestamp older than 5 minutes")

    def handshake(self, config, request, body):
        if request.content_type == "application/json":
            try:
                data = decode_json(body, "not a Slack event")
            except Refused:
                return None  # parse() refuses it with the reason
            if isinstance(data, dict) and data.get("type") == "url_verification":
                return {"challenge": str(data.get("challenge", ""))}
        return None

    def parse(self, config, request, body):
        if request.content_type == "application/x-www-form-urlencoded":
            try:
                payload = parse_qs(body.decode())["payload"][0]
            except (KeyError, IndexError, UnicodeDecodeError):
                raise Refused(400, "not a Slack interaction: a form with a JSON `payload`") from None
            data = decode_json(payload, "not a Slack interaction: the `payload` field")
            return _interaction(data)
        data = decode_json(body, "not a Slack event")
        if not isinstance(data, dict) or data.get("type") != "event_callback" or not isinstance(data.get("event"), dict):
            return []  # app_rate_limited and other notices: nothing for the bot
        return _event(str(data.get("event_id") or ""), data["event"])

    def send(self, config, address, outgoing):
        payload = {"channel": address["channel"], **render(outgoing.message)}
        if address.get("thread_ts"):
            payload["thread_ts"] = address["thread_ts"]
        if config.bot_name:
            payload["username"] = config.bot_name
        if config.bot_avatar_url:
            payload["icon_url"] = config.bot_avatar_url
        _, answer = post_json(f"{settings.FLOWSTUDIO_SLACK_API_URL}/chat.postMessage", payload,
                              headers={"Authorization": f"Bearer {config.bot_token}"},
                              shown_url="Slack chat.postMessage")
        if answer.get("ok") is not True:
            raise SendRejected(f"Slack chat.postMessage: {answer.get('error', 'not ok')}")


    def check(self, config):
        _, answer = post_json(f"{settings.FLOWSTUDIO_SLACK_API_URL}/auth.test", {},
                              headers={"Authorization": f"Bearer {config.bot_token}"}, shown_url="Slack auth.test")
        if answer.get("ok") is not True:
            raise SendRejected(f"Slack auth.test: {answer.get('error', 'not ok')}")
        return f"connected to the workspace {answer.get('team') or answer.get('team_id')} as @{answer.get('user')}"


def _address(channel: str, thread_ts: str | None) -> tuple[str, dict, dict]:
    key = f"{channel}:{thread_ts}" if thread_ts else channel
    tags = {"slack:id": channel, **({"slack:thread": thread_ts} if thread_ts else {})}
    return key, {"channel": channel, **({"thread_ts": thread_ts} if thread_ts else {})}, tags


def _event(event_id: str, event: dict) -> list[Inbound]:
    if event.get("type") != "message" or event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
        return []  # the bot's own messages come back as events too; edits, joins...: not the user talking
    if not event_id or not event.get("channel") or not event.get("user"):
        raise Refused(400, "not a Slack message event: event_id, event.channel and event.user are needed")
    key, address, tags = _address(event["channel"], event.get("thread_ts"))
    files = event.get("files") or []
    image = next((f for f in files if str(f.get("mimetype", "")).startswith("image/")), None)
    if image is not None:
        # url_private needs the bot token to be fetched (docs/channels.md).
        event_type, payload = "image", {"imageUrl": image.get("url_private", ""),
                                        **({"title": event["text"]} if event.get("text") else {})}
    else:
        event_type, payload = "text", {"text": str(event.get("text", ""))}
    return [Inbound(update_id=event_id, address_key=key, address=address, user_id=event["user"], event_type=event_type,
                    payload=payload, conversation_tags=tags, user_tags={"slack:id": event["user"]})]


def _interaction(data: dict) -> list[Inbound]:
    if data.get("type") != "block_actions":
        return []
    user = (data.get("user") or {}).get("id")
    channel = (data.get("channel") or {}).get("id")
    container = data.get("container") or {}
    thread_ts = container.get("thread_ts") or (data.get("message") or {}).get("thread_ts")
    if not user or not channel:
        raise Refused(400, "not a Slack block action: user.id and channel.id are needed")
    key, address, tags = _address(channel, thread_ts)
    updates = []
    for action in data.get("actions") or []:
        value = action.get("value")
        if value is None and isinstance(action.get("selected_option"), dict):
            value = action["selected_option"].get("value")
        if value is None:
            continue
        update_id = f"action:{action.get('action_ts') or data.get('trigger_id')}:{action.get('action_id')}"
        updates.append(Inbound(update_id=update_id, address_key=key, address=address, user_id=user,
                               user_name=(data.get("user") or {}).get("name", ""), event_type="text",
                               payload={"text": str(value)}, conversation_tags=tags, user_tags={"slack:id": user}))
    return updates


def _button(label, value, n: int, url: str | None = None) -> ButtonElement:
    if url:
        return ButtonElement(text=_cut(str(label), BUTTON_TEXT_LIMIT), url=url, action_id=f"link-{n}")
    return ButtonElement(text=_cut(str(label), BUTTON_TEXT_LIMIT), value=_cut(str(value), BUTTON_VALUE_LIMIT),
                         action_id=f"choice-{n}")


def render(message: dict) -> dict:
    """One bot message as chat.postMessage's `text` (the notification and fallback) and
    `blocks`."""
    kind = message.get("type")
    text = fallback_text(message) or "…"
    blocks = []
    if kind in ("text", "markdown"):
        blocks = [SectionBlock(text=MarkdownTextObject(text=_cut(text, SECTION_LIMIT)))]
    elif kind in ("choice", "dropdown"):
        options = message.get("options") or []
        blocks = [SectionBlock(text=MarkdownTextObject(text=_cut(str(message.get("text") or "…"), SECTION_LIMIT)))]
        if kind == "choice" and len(options) <= MAX_BUTTONS:
            blocks.append(ActionsBlock(elements=[_button(o.get("label", o.get("value")), o.get("value", o.get("label")), n)
                                                 for n, o in enumerate(options)]))
        else:
            menu = [Option(text=_cut(str(o.get("label", o.get("value"))), BUTTON_TEXT_LIMIT),
                           value=_cut(str(o.get("value", o.get("label"))), 150)) for o in options[:MENU_OPTIONS]]
            blocks.append(ActionsBlock(elements=[StaticSelectElement(placeholder="Choose…", options=menu,
                                                                     action_id="choice-menu")]))
        text = str(message.get("text") or "…")
    elif kind == "image":
        blocks = [ImageBlock(image_url=message.get("imageUrl", ""), alt_text=str(message.get("title") or "image"),
                             **({"title": str(message["title"])} if message.get("title") else {}))]
    elif kind in ("card", "carousel"):
        items = message.get("items") if kind == "carousel" else [message]
        for item in items or []:
            section = "\n".join(f"*{p}*" if i == 0 else str(p) for i, p in
                                enumerate((item.get("title"), item.get("subtitle"))) if p)
            blocks.append(SectionBlock(text=MarkdownTextObject(text=_cut(section or "…", SECTION_LIMIT))))
            if item.get("imageUrl"):
                blocks.append(ImageBlock(image_url=item["imageUrl"], alt_text=str(item.get("title") or "image")))
            actions = item.get("actions") or []
            if actions:
                blocks.append(ActionsBlock(elements=[
                    _button(a["label"], a["value"], n, url=a["value"] if a.get("action") == "url" else None)
                    for n, a in enumerate(actions[:BUTTONS_PER_BLOCK])]))
    else:
        # Audio, video, files, locations, blocs: their words and links as text (Slack
        # unfurls links it knows).
        blocks = [SectionBlock(text=MarkdownTextObject(text=_cut(text, SECTION_LIMIT)))]
    return {"text": _cut(text, SECTION_LIMIT), "blocks": [block.to_dict() for block in blocks]}
