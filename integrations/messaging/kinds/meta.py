"""WhatsApp (the Cloud API) and Messenger: Meta's two messengers, both through the Graph API
(plain HTTPS JSON over the outbound guard; Meta keeps no maintained Python SDK for either).

What they share is here: Meta signs every webhook POST with the app secret
(`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`), and checks a webhook URL
with a GET carrying `hub.mode=subscribe`, `hub.verify_token` (ours, pasted into the app's
dashboard) and `hub.challenge`, which is answered back as is. docs/channels.md, "WhatsApp"
and "Messenger", lists what each message type becomes.

- WhatsApp: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples
  and /reference/messages.
- Messenger: https://developers.facebook.com/docs/messenger-platform/webhooks and
  /reference/send-api.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from pydantic import Field

from runtime import outbound

from . import (ChannelConfig, ChannelKind, Inbound, Refused, SendFailed, SendRejected, decode_json, fallback_text,
               numbered_choices, register)
from .api_calls import get_json, post_json

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Graph error codes that mean "too many, later" although the status is a 4xx:
# 4 app, 17 user, 32 page, 613 call rate limits; 80007 WhatsApp account, 130429 throughput,
# 131056 pair rate limits (https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
RATE_LIMIT_CODES = {4, 17, 32, 613, 80007, 130429, 131056}
# A medium's download, at most (the file may be 16 MB).
MEDIA_SECONDS = 60.0


def graph_retried(status: int, answer: dict) -> bool:
    error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
    return error.get("code") in RATE_LIMIT_CODES or error.get("is_transient") is True


def graph_url(path: str) -> str:
    return f"{settings.FLOWSTUDIO_META_GRAPH_API_URL}/{path.lstrip('/')}"


def _cut(text, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def map_link(message: dict) -> str:
    return f"https://www.google.com/maps/search/?api=1&query={message.get('latitude')},{message.get('longitude')}"


class MetaKind(ChannelKind):
    """What WhatsApp and Messenger share: the app secret's signature and the verify token."""

    generated = ("verify_token",)
    token_field = ""

    def generate(self, field: str) -> str:
        return secrets.token_urlsafe(24)

    def verify(self, config, request, body):
        header = request.headers.get(SIGNATURE_HEADER, "")
        expected = "sha256=" + hmac.new(config.app_secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(header.strip().lower(), expected):
            raise Refused(401, f"bad or missing {SIGNATURE_HEADER}: the update is not signed with this app's secret")

    def challenge(self, config, params):
        if params.get("hub.mode") != "subscribe":
            raise Refused(400, f"a GET on the {self.label} webhook is Meta's verification: hub.mode=subscribe expected")
        if not hmac.compare_digest(str(params.get("hub.verify_token") or ""), config.verify_token):
            raise Refused(403, "hub.verify_token is not this channel's verify token (shown on the channel's settings)")
        return "text/plain", str(params.get("hub.challenge") or "").encode()

    def parse(self, config, request, body):
        try:
            return self.updates(config, body)
        except (AttributeError, TypeError, ValueError) as exc:
            # A field of the wrong JSON type somewhere deep in Meta's envelope: a 400 that
            # says so, not a 500.
            raise Refused(400, f"not a {self.label} webhook: a field has the wrong type ({exc})") from None

    def updates(self, config, body: bytes) -> list[Inbound]:
        raise NotImplementedError

    def _body(self, body: bytes, object_name: str) -> dict:
        data = decode_json(body, f"not a {self.label} webhook")
        if not isinstance(data, dict) or data.get("object") != object_name or not isinstance(data.get("entry"), list):
            raise Refused(400, f"not a {self.label} webhook: a JSON object with object={object_name!r} and entry[]")
        return data

    def _headers(self, config) -> dict:
        return {"Authorization": f"Bearer {getattr(config, self.token_field)}"}


# --- WhatsApp ----------------------------------------------------------------------------

# The Cloud API's limits: 4096 characters a text, 1024 an interactive body or a caption,
# 3 reply buttons of 20 characters (ids 256), 10 list rows of 24 (ids 200, descriptions 72),
# 20 characters the list's button.
WA_TEXT = 4096
WA_BODY = 1024
WA_BUTTONS = 3
WA_BUTTON_TITLE = 20
WA_BUTTON_ID = 256
WA_ROWS = 10
WA_ROW_TITLE = 24
WA_ROW_ID = 200
WA_ROW_DESCRIPTION = 72


class WhatsAppConfig(ChannelConfig):
    phone_number_id: str = Field(pattern=r"^\d{5,32}$", title="Phone number ID",
                                 description="WhatsApp → API Setup: the sender's Phone number ID (not the number).")
    access_token: str = Field(min_length=20, title="Access token", json_schema_extra={"secret": True},
                              description="A System User's permanent token with whatsapp_business_messaging.")
    app_secret: str = Field(min_length=16, title="App secret", json_schema_extra={"secret": True},
                            description="App settings → Basic → App secret: checks X-Hub-Signature-256.")
    verify_token: str = Field(min_length=16, max_length=128, title="Verify token",
                              description="Paste it with the webhook URL under WhatsApp → Configuration; generated.")


@register
class WhatsApp(MetaKind):
    name = "whatsapp"
    label = "WhatsApp"
    Config = WhatsAppConfig
    token_field = "access_token"

    def updates(self, config, body):
        data = self._body(body, "whatsapp_business_account")
        updates = []
        for entry in data["entry"]:
            changes = entry.get("changes") if isinstance(entry, dict) else None
            for change in changes if isinstance(changes, list) else []:
                value = change.get("value") if isinstance(change, dict) else None
                if not isinstance(value, dict) or change.get("field") != "messages":
                    continue
                phone = str((value.get("metadata") or {}).get("phone_number_id", ""))
                if phone and phone != config.phone_number_id:
                    continue  # another number of the same app: not this bot's
                contacts = value.get("contacts") if isinstance(value.get("contacts"), list) else []
                names = {str(c.get("wa_id")): str((c.get("profile") or {}).get("name") or "")
                         for c in contacts if isinstance(c, dict) and isinstance(c.get("profile") or {}, dict)}
                messages = value.get("messages") if isinstance(value.get("messages"), list) else []
                # `statuses` (sent, delivered, read) come the same way: nothing for the bot.
                for message in messages:
                    inbound = _wa_inbound(message, names, config.phone_number_id)
                    if inbound is not None:
                        updates.append(inbound)
        return updates

    def send(self, config, address, outgoing):
        template = wa_template(outgoing.message) if outside_window(outgoing.last_incoming_at) else None
        for payload in [template] if template else wa_render(outgoing.message):
            post_json(graph_url(f"{config.phone_number_id}/messages"),
                      {"messaging_product": "whatsapp", "recipient_type": "individual", "to": address["wa_id"],
                       **payload},
                      headers=self._headers(config), shown_url="WhatsApp messages", retried=graph_retried)

    def download(self, config, media_id: str, max_bytes: int) -> tuple[str, bytes]:
        """A medium the user sent: its URL from the Graph API (`GET /<media id>`, valid for
        minutes), then the file with the same token, both through the outbound guard; the
        file at most `max_bytes` (a larger one is refused before it is read, by its declared
        size, or while it is read). (content type, bytes); SendFailed to retry, SendRejected."""
        _, answer = get_json(graph_url(media_id), headers=self._headers(config), shown_url="WhatsApp media")
        url, size = answer.get("url"), answer.get("file_size")
        if not isinstance(url, str) or not url:
            raise SendRejected(f"WhatsApp media {media_id}: the Graph API gave no url")
        if isinstance(size, (int, str)) and str(size).isdigit() and int(size) > max_bytes:
            raise SendRejected(f"WhatsApp media {media_id} is {size} bytes; the limit is {max_bytes}")
        try:
            reply = outbound.request("GET", url, headers=self._headers(config), max_bytes=max_bytes,
                                     total_seconds=MEDIA_SECONDS)
        except outbound.OutboundRefused as exc:
            raise SendRejected(f"WhatsApp media {media_id}: refused by the outbound guard: {exc}") from None
        except outbound.OutboundFailed as exc:
            reason = str(exc).replace(url, "the file")  # the CDN URL is the medium's own address
            if "limit is" in reason or "byte limit" in reason:
                raise SendRejected(f"WhatsApp media {media_id}: {reason}") from None
            raise SendFailed(f"WhatsApp media {media_id}: {reason}") from None
        if reply.status >= 500 or reply.status in (408, 429):
            raise SendFailed(f"WhatsApp media {media_id}: the download answered {reply.status}", status=reply.status)
        if reply.status >= 300:
            raise SendRejected(f"WhatsApp media {media_id}: the download answered {reply.status}", status=reply.status)
        content_type = str(answer.get("mime_type") or reply.headers.get("content-type") or "application/octet-stream")
        return content_type.split(";")[0].strip()[:255], reply.body

    def check(self, config):
        _, answer = get_json(graph_url(f"{config.phone_number_id}?fields=display_phone_number,verified_name"),
                             headers=self._headers(config), shown_url="WhatsApp phone number")
        number = answer.get("display_phone_number") or config.phone_number_id
        name = answer.get("verified_name")
        return f"connected to {number}" + (f" ({name})" if name else "")


# A business may message a user freely for 24 hours after the user's last message; outside
# that window only an approved message template goes out (Meta answers 131047 otherwise).
WA_WINDOW = timedelta(hours=24)
TEMPLATE_KEY = "whatsappTemplate"
WA_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
WA_TEMPLATE_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
WA_TEMPLATE_PARAMETERS = 20
WA_TEMPLATE_COMPONENTS = 10


def outside_window(last_incoming_at) -> bool:
    return last_incoming_at is None or timezone.now() - last_incoming_at >= WA_WINDOW


def wa_template(message: dict) -> dict | None:
    """The approved template a bot message names in `metadata.whatsappTemplate`, as a Cloud
    API message object, or None when it names none. SendRejected (recorded, not retried) when
    the template is not one the Cloud API could take, with the path of what is wrong."""
    metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
    spec = metadata.get(TEMPLATE_KEY)
    if spec is None:
        return None
    where = f"metadata.{TEMPLATE_KEY}"
    if not isinstance(spec, dict):
        raise SendRejected(f"{where} must be an object with name and language")
    name, language = spec.get("name"), spec.get("language", "en_US")
    if not isinstance(name, str) or not WA_TEMPLATE_NAME.match(name):
        raise SendRejected(f"{where}.name must be the template's name (lower case letters, digits, _), got {name!r}")
    if not isinstance(language, str) or not WA_TEMPLATE_LANGUAGE.match(language):
        raise SendRejected(f"{where}.language must be a language code such as en or en_US, got {language!r}")
    parameters = spec.get("parameters", [])
    if not isinstance(parameters, list) or len(parameters) > WA_TEMPLATE_PARAMETERS \
            or not all(isinstance(p, (str, int, float)) and not isinstance(p, bool) for p in parameters):
        raise SendRejected(f"{where}.parameters must be a list of at most {WA_TEMPLATE_PARAMETERS} texts")
    components = spec.get("components", [])
    if not isinstance(components, list) or len(components) > WA_TEMPLATE_COMPONENTS \
            or not all(isinstance(c, dict) and isinstance(c.get("type"), str) for c in components):
        raise SendRejected(f"{where}.components must be a list of at most {WA_TEMPLATE_COMPONENTS} objects "
                           f"with a type (the Cloud API's template components)")
    if parameters:
        body = {"type": "body", "parameters": [{"type": "text", "text": _cut(p, WA_BODY)} for p in parameters]}
        components = [body, *(c for c in components if c.get("type") != "body")]
    template = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = components
    return {"type": "template", "template": template}


def _wa_inbound(message: dict, names: dict, phone_number_id: str) -> Inbound | None:
    if not isinstance(message, dict) or not message.get("id") or not message.get("from"):
        raise Refused(400, "not a WhatsApp message: messages[].id and messages[].from are needed")
    mapped = wa_map(message)
    if mapped is None:
        return None
    event_type, payload = mapped
    wa_id = str(message["from"])
    # Botpress's tag names too (whatsapp:userPhone, whatsapp:phoneNumberId), for bots that read them.
    tags = {"whatsapp:id": wa_id, "whatsapp:userPhone": wa_id, "whatsapp:phoneNumberId": phone_number_id}
    return Inbound(update_id=str(message["id"]), address_key=wa_id, address={"wa_id": wa_id}, user_id=wa_id,
                   user_name=names.get(wa_id, ""), event_type=event_type, payload=payload,
                   conversation_tags=tags, user_tags={"whatsapp:id": wa_id})


def wa_map(message: dict) -> tuple[str, dict] | None:
    """A WhatsApp message as the bot's event. Media keep WhatsApp's media id: fetching one
    takes the access token (GET /<media id>), so no URL goes into the transcript."""
    kind = message.get("type")
    item = message.get(kind) if isinstance(message.get(kind), dict) else {}
    if kind == "text":
        return "text", {"text": str(item.get("body", ""))}
    if kind == "interactive":
        reply = item.get("button_reply") or item.get("list_reply") or {}
        return "text", {"text": str(reply.get("id") or reply.get("title") or "")}
    if kind == "button":  # a template's quick-reply button
        return "text", {"text": str(item.get("payload") or item.get("text") or "")}
    if kind == "location":
        extra = {k: item[k] for k in ("name", "address") if item.get(k)}
        return "location", {"latitude": item.get("latitude"), "longitude": item.get("longitude"),
                            **({"title": extra["name"]} if "name" in extra else {}),
                            **({"address": extra["address"]} if "address" in extra else {})}
    media = {"image": "image", "sticker": "image", "audio": "audio", "video": "video", "document": "file"}
    if kind in media:
        event = media[kind]
        title = item.get("caption") or item.get("filename") or ""
        return event, {f"{event}Url": "", "whatsappMediaId": item.get("id"),
                       **({"mimeType": item["mime_type"]} if item.get("mime_type") else {}),
                       **({"title": title} if title else {})}
    return None  # reactions, contacts, orders, unsupported: nothing the bot takes


def _wa_buttons(options: list[dict]) -> dict:
    return {"type": "button", "action": {"buttons": [
        {"type": "reply", "reply": {"id": _cut(o.get("value", o.get("label", "")), WA_BUTTON_ID),
                                    "title": _cut(o.get("label", o.get("value", "")), WA_BUTTON_TITLE)}}
        for o in options]}}


def wa_render(message: dict) -> list[dict]:
    """One bot message as Cloud API message objects (`type` and its object), in order."""
    kind = message.get("type")
    if kind in ("text", "markdown"):
        return [{"type": "text", "text": {"body": _cut(fallback_text(message) or "…", WA_TEXT)}}]
    if kind in ("choice", "dropdown"):
        options = message.get("options") or []
        body = {"text": _cut(message.get("text") or "…", WA_BODY)}
        if kind == "choice" and 0 < len(options) <= WA_BUTTONS:
            return [{"type": "interactive", "interactive": {**_wa_buttons(options), "body": body}}]
        if 0 < len(options) <= WA_ROWS:
            rows = [{"id": _cut(o.get("value", o.get("label", "")), WA_ROW_ID),
                     "title": _cut(o.get("label", o.get("value", "")), WA_ROW_TITLE),
                     **({"description": _cut(o["label"], WA_ROW_DESCRIPTION)}
                        if len(str(o.get("label", ""))) > WA_ROW_TITLE else {})} for o in options]
            return [{"type": "interactive", "interactive": {
                "type": "list", "body": body, "action": {"button": "Choose", "sections": [{"rows": rows}]}}}]
        return [{"type": "text", "text": {"body": _cut(numbered_choices(message), WA_TEXT)}}]
    if kind in ("image", "audio", "video", "file"):
        field = "document" if kind == "file" else kind
        media = {"link": message.get(f"{kind}Url", "")}
        if message.get("title") and kind != "audio":  # audio takes no caption
            media["caption"] = _cut(message["title"], WA_BODY)
        if kind == "file" and message.get("title"):
            media["filename"] = _cut(message["title"], 240)
        return [{"type": field, field: media}]
    if kind == "location":
        place = {"latitude": message.get("latitude"), "longitude": message.get("longitude")}
        for key, source in (("name", "title"), ("address", "address")):
            if message.get(source):
                place[key] = str(message[source])
        return [{"type": "location", "location": place}]
    if kind == "card":
        return _wa_card(message)
    if kind == "carousel":  # WhatsApp has no carousel: each card in turn
        return [part for item in message.get("items") or [] for part in _wa_card(item)]
    if kind == "bloc":
        return [part for item in message.get("items") or [] for part in wa_render(item)]
    text = fallback_text(message)
    return [{"type": "text", "text": {"body": _cut(text, WA_TEXT)}}] if text else []


def _wa_card(card: dict) -> list[dict]:
    """A card as interactive messages, the way Botpress's WhatsApp integration splits one:
    its say/postback actions as reply buttons, 3 a message; each `url` action as a message
    with one link button (`cta_url`: WhatsApp allows one a message). The first message has
    the image as header and the title and subtitle as body; the others the title. Without
    actions: the image with that text as caption, or the text."""
    actions = card.get("actions") or []
    links = [a for a in actions if a.get("action") == "url"]
    replies = [{"label": a.get("label"), "value": a.get("value")} for a in actions if a.get("action") != "url"]
    text = "\n".join(str(p) for p in (card.get("title"), card.get("subtitle")) if p) or "…"
    if not actions:
        if card.get("imageUrl"):
            return [{"type": "image", "image": {"link": card["imageUrl"], "caption": _cut(text, WA_BODY)}}]
        return [{"type": "text", "text": {"body": _cut(text, WA_TEXT)}}]
    parts = [_wa_buttons(replies[i:i + WA_BUTTONS]) for i in range(0, len(replies), WA_BUTTONS)]
    parts += [{"type": "cta_url", "action": {"name": "cta_url", "parameters": {
        "display_text": _cut(link.get("label") or "Open", WA_BUTTON_TITLE), "url": str(link.get("value"))}}}
        for link in links]
    messages = []
    for n, part in enumerate(parts):
        interactive = {**part, "body": {"text": _cut(text if n == 0 else (card.get("title") or "…"), WA_BODY)}}
        if n == 0 and card.get("imageUrl"):
            interactive["header"] = {"type": "image", "image": {"link": card["imageUrl"]}}
        messages.append({"type": "interactive", "interactive": interactive})
    return messages


# --- Messenger ---------------------------------------------------------------------------

# The Send API's limits: 2000 characters a text, 13 quick replies of 20 characters
# (payloads 1000), 640 the button template's text, 3 buttons an element, 10 elements a
# generic template, 80 characters its title and subtitle.
MS_TEXT = 2000
MS_QUICK_REPLIES = 13
MS_TITLE = 20
MS_PAYLOAD = 1000
MS_BUTTONS = 3
MS_ELEMENTS = 10
MS_ELEMENT_TEXT = 80


class MessengerConfig(ChannelConfig):
    page_id: str = Field(default="", pattern=r"^\d*$", title="Page ID",
                         description="Only this Page's messages are taken (empty: any Page of the app).")
    page_access_token: str = Field(min_length=20, title="Page access token", json_schema_extra={"secret": True},
                                   description="Messenger → Settings → Access Tokens (pages_messaging).")
    app_secret: str = Field(min_length=16, title="App secret", json_schema_extra={"secret": True},
                            description="App settings → Basic → App secret: checks X-Hub-Signature-256.")
    verify_token: str = Field(min_length=16, max_length=128, title="Verify token",
                              description="Paste it with the webhook URL under Messenger → Webhooks; generated.")


@register
class Messenger(MetaKind):
    name = "messenger"
    label = "Messenger"
    Config = MessengerConfig
    token_field = "page_access_token"

    def updates(self, config, body):
        data = self._body(body, "page")
        updates = []
        for entry in data["entry"]:
            if not isinstance(entry, dict) or (config.page_id and str(entry.get("id")) != config.page_id):
                continue
            events = entry.get("messaging")
            for event in events if isinstance(events, list) else []:
                inbound = _ms_inbound(event)
                if inbound is not None:
                    updates.append(inbound)
        return updates

    def send(self, config, address, outgoing):
        for message in ms_render(outgoing.message):
            post_json(graph_url("me/messages"), {"recipient": {"id": address["psid"]}, "messaging_type": "RESPONSE",
                                                 "message": message},
                      headers=self._headers(config), shown_url="Messenger Send API", retried=graph_retried)

    def check(self, config):
        _, answer = get_json(graph_url("me?fields=id,name"), headers=self._headers(config),
                             shown_url="Messenger /me")
        if config.page_id and str(answer.get("id")) != config.page_id:
            raise SendRejected(f"the page access token is for page {answer.get('id')}, not {config.page_id}")
        return f"connected to the Page {answer.get('name') or answer.get('id')}"


def _ms_inbound(event: dict) -> Inbound | None:
    if not isinstance(event, dict):
        return None
    message, postback = event.get("message"), event.get("postback")
    if isinstance(message, dict) and message.get("is_echo"):
        return None  # the page's own messages (the bot's replies) come back as echoes
    if not isinstance(message, dict) and not isinstance(postback, dict):
        return None  # deliveries, reads, reactions...: not the user talking
    sender = event.get("sender")
    psid = str(sender.get("id") or "") if isinstance(sender, dict) else ""
    if not psid:
        raise Refused(400, "not a Messenger event: messaging[].sender.id is needed")
    if isinstance(postback, dict):
        update_id = postback.get("mid") or f"postback:{psid}:{event.get('timestamp')}"
        event_type, payload = "text", {"text": str(postback.get("payload") or postback.get("title") or "")}
    else:
        if not message.get("mid"):
            raise Refused(400, "not a Messenger message: message.mid is needed")
        update_id = message["mid"]
        mapped = ms_map(message)
        if mapped is None:
            return None
        event_type, payload = mapped
    return Inbound(update_id=str(update_id), address_key=psid, address={"psid": psid}, user_id=psid,
                   event_type=event_type, payload=payload,
                   conversation_tags={"messenger:id": psid}, user_tags={"messenger:id": psid})


def ms_map(message: dict) -> tuple[str, dict] | None:
    """A Messenger message as the bot's event. Attachment URLs are Meta's CDN's, readable
    without a token, so they are kept as the event's URL."""
    if isinstance(message.get("quick_reply"), dict):
        return "text", {"text": str(message["quick_reply"].get("payload", ""))}
    for attachment in message.get("attachments") or []:
        kind = (attachment or {}).get("type")
        payload = (attachment or {}).get("payload") or {}
        if kind == "location" and isinstance(payload.get("coordinates"), dict):
            return "location", {"latitude": payload["coordinates"].get("lat"),
                                "longitude": payload["coordinates"].get("long")}
        if kind in ("image", "audio", "video", "file"):
            title = message.get("text") or attachment.get("title") or ""
            return kind, {f"{kind}Url": str(payload.get("url", "")), **({"title": title} if title else {})}
    if "text" in message:
        return "text", {"text": str(message["text"])}
    return None


def _ms_button(action: dict) -> dict:
    if action.get("action") == "url":
        return {"type": "web_url", "url": str(action.get("value")), "title": _cut(action.get("label", ""), MS_TITLE)}
    return {"type": "postback", "title": _cut(action.get("label", ""), MS_TITLE),
            "payload": _cut(action.get("value", ""), MS_PAYLOAD)}


def _ms_element(card: dict) -> dict:
    element = {"title": _cut(card.get("title") or "…", MS_ELEMENT_TEXT)}
    if card.get("subtitle"):
        element["subtitle"] = _cut(card["subtitle"], MS_ELEMENT_TEXT)
    if card.get("imageUrl"):
        element["image_url"] = card["imageUrl"]
    buttons = [_ms_button(a) for a in (card.get("actions") or [])[:MS_BUTTONS]]
    if buttons:
        element["buttons"] = buttons
    return element


def _generic(cards: list[dict]) -> list[dict]:
    return [{"attachment": {"type": "template", "payload": {
        "template_type": "generic", "elements": [_ms_element(c) for c in cards[i:i + MS_ELEMENTS]]}}}
        for i in range(0, len(cards), MS_ELEMENTS)]


def ms_render(message: dict) -> list[dict]:
    """One bot message as Send API `message` objects, in order."""
    kind = message.get("type")
    if kind in ("text", "markdown"):
        return [{"text": _cut(fallback_text(message) or "…", MS_TEXT)}]
    if kind in ("choice", "dropdown"):
        options = message.get("options") or []
        if 0 < len(options) <= MS_QUICK_REPLIES:
            return [{"text": _cut(message.get("text") or "…", MS_TEXT), "quick_replies": [
                {"content_type": "text", "title": _cut(o.get("label", o.get("value", "")), MS_TITLE),
                 "payload": _cut(o.get("value", o.get("label", "")), MS_PAYLOAD)} for o in options]}]
        return [{"text": _cut(numbered_choices(message), MS_TEXT)}]
    if kind == "image" and message.get("title"):
        # Attachments carry no caption: a titled image is a one-element generic template.
        return _generic([{"title": message["title"], "imageUrl": message.get("imageUrl", "")}])
    if kind in ("image", "audio", "video", "file"):
        attachment = {"attachment": {"type": kind, "payload": {"url": message.get(f"{kind}Url", ""),
                                                               "is_reusable": True}}}
        # The title of audio, a video or a file goes first, as a text.
        return ([{"text": _cut(message["title"], MS_TEXT)}] if message.get("title") else []) + [attachment]
    if kind == "location":  # the Send API cannot send a location: its words and a map link
        return [{"text": _cut(f"{fallback_text(message)}\n{map_link(message)}", MS_TEXT)}]
    if kind == "card":
        return _generic([message])
    if kind == "carousel":
        return _generic(message.get("items") or [])
    if kind == "bloc":
        return [part for item in message.get("items") or [] for part in ms_render(item)]
    text = fallback_text(message)
    return [{"text": _cut(text, MS_TEXT)}] if text else []
