"""Twilio SMS and MMS: Twilio POSTs each incoming message to the webhook URL as a form,
signed in `X-Twilio-Signature` (checked by the `twilio` SDK's RequestValidator, over the
public webhook URL and the form's fields); replies go to the Messages resource of Twilio's
REST API (a form POST with the Account SID and Auth Token), through the outbound guard.

SMS has no buttons: a choice becomes numbered lines, and the user answers with the number,
the label or the value (the capture takes all three). Media go out as MMS `MediaUrl`s.
docs/channels.md, "Twilio SMS", lists the rest.
"""
from __future__ import annotations

import base64
from urllib.parse import parse_qsl, quote

from django.conf import settings
from pydantic import Field
from twilio.request_validator import SIGNATURE_HEADER, RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from . import ChannelConfig, ChannelKind, Inbound, Refused, fallback_text, numbered_choices, register
from .api_calls import get_json, post_form

# One message's Body: 1600 characters (Twilio splits it into SMS segments); 10 media an MMS.
BODY_LIMIT = 1600
MEDIA_LIMIT = 10
MEDIA_EVENT = (("image/", "image"), ("audio/", "audio"), ("video/", "video"))


class Config(ChannelConfig):
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$", title="Account SID",
                             description="Twilio Console → Account Info (AC...).")
    auth_token: str = Field(min_length=16, title="Auth token", json_schema_extra={"secret": True},
                            description="Twilio Console → Account Info; also checks X-Twilio-Signature.")
    sender: str = Field(pattern=r"^(\+[1-9]\d{4,14}|MG[0-9a-fA-F]{32})$", title="From",
                        description="The Twilio number replies come from (+E.164), or a Messaging Service SID (MG...).")


def _auth(config: Config) -> dict:
    pair = f"{config.account_sid}:{config.auth_token}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _api(config: Config, path: str) -> str:
    return f"{settings.FLOWSTUDIO_TWILIO_API_URL}/2010-04-01/Accounts/{quote(config.account_sid)}{path}"


def _cut(text, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _fields(body: bytes, *, errors: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors=errors)
    except UnicodeDecodeError:
        raise Refused(400, "not a Twilio message: the form is not UTF-8") from None


def _form(body: bytes) -> dict:
    """The form's fields. Percent-escapes that are not UTF-8 are refused rather than replaced
    (a lone surrogate's bytes), and so is a NUL, which PostgreSQL cannot store: the same
    policy as JSON bodies' (flows/untrusted_json.py), with the field named."""
    fields = _fields(body, errors="strict")
    for name, value in fields:
        if "\x00" in name or "\x00" in value:
            raise Refused(400, f"not a Twilio message: the field {name!r} contains the NUL character (\\u0000), "
                               "which cannot be stored")
    return dict(fields)


@register
class TwilioSMS(ChannelKind):
    name = "twilio"
    label = "Twilio SMS"
    Config = Config
    # Twilio reads the answer as TwiML: an empty <Response/> sends nothing back (the replies
    # go through the REST API, after the turn).
    acknowledgement = ("text/xml", str(MessagingResponse()).encode())

    def verify(self, config, request, body):
        if request.content_type != "application/x-www-form-urlencoded":
            raise Refused(400, "not a Twilio message: Twilio posts application/x-www-form-urlencoded")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        # The signature first, over the form as sent (parse() then refuses what cannot be stored).
        fields = dict(_fields(body, errors="replace"))
        if not signature or not RequestValidator(config.auth_token).validate(request.webhook_url, fields, signature):
            raise Refused(401, f"bad or missing {SIGNATURE_HEADER} (HMAC-SHA1 with the account's Auth Token over "
                               f"{request.webhook_url} and the form)")

    def parse(self, config, request, body):
        form = _form(body)
        sid, sender = form.get("MessageSid") or form.get("SmsSid"), form.get("From")
        if not sid or not sender:
            raise Refused(400, "not a Twilio message: MessageSid and From are needed")
        if form.get("AccountSid") and form["AccountSid"] != config.account_sid:
            raise Refused(403, "the message is for another Twilio account than the channel's Account SID")
        if form.get("MessageStatus") not in (None, "", "received"):
            return []  # a status callback (sent, delivered...) pasted at this URL: nothing for the bot
        common = {"address_key": sender, "address": {"to": sender}, "user_id": sender,
                  "conversation_tags": {"twilio:id": sender}, "user_tags": {"twilio:id": sender}}
        text = form.get("Body", "")
        try:
            media = min(int(form.get("NumMedia") or 0), MEDIA_LIMIT)
        except ValueError:
            raise Refused(400, "not a Twilio message: NumMedia is not a number") from None
        updates = []
        # Each picture of an MMS is an event of its own; the text is the first one's title.
        for n in range(media):
            url, content_type = form.get(f"MediaUrl{n}"), form.get(f"MediaContentType{n}", "")
            if not url:
                continue
            kind = next((event for prefix, event in MEDIA_EVENT if content_type.startswith(prefix)), "file")
            payload = {f"{kind}Url": url, **({"mimeType": content_type} if content_type else {}),
                       **({"title": text} if text and not updates else {})}
            updates.append(Inbound(update_id=sid if not updates else f"{sid}:{n}", event_type=kind, payload=payload,
                                   **common))
        if not updates:
            updates.append(Inbound(update_id=sid, event_type="text", payload={"text": text}, **common))
        return updates

    def send(self, config, address, outgoing):
        origin = ("MessagingServiceSid" if config.sender.startswith("MG") else "From", config.sender)
        for body, media in render(outgoing.message):
            fields = [("To", address["to"]), origin]
            if body:
                fields.append(("Body", _cut(body, BODY_LIMIT)))
            fields += [("MediaUrl", url) for url in media[:MEDIA_LIMIT]]
            post_form(_api(config, "/Messages.json"), fields, headers=_auth(config), shown_url="Twilio Messages")

    def check(self, config):
        _, answer = get_json(_api(config, ".json"), headers=_auth(config), shown_url="Twilio Accounts")
        status = answer.get("status")
        return f"connected to the Twilio account {answer.get('friendly_name') or config.account_sid}" + \
            (f" ({status})" if status else "")


def render(message: dict) -> list[tuple[str, list[str]]]:
    """One bot message as Twilio messages: (Body, MediaUrls), in order."""
    kind = message.get("type")
    if kind in ("choice", "dropdown"):
        return [(numbered_choices(message), [])]
    if kind in ("image", "audio", "video", "file"):
        url = message.get(f"{kind}Url")
        return [(str(message.get("title") or ""), [url] if url else [])]
    if kind == "location":
        link = f"https://www.google.com/maps/search/?api=1&query={message.get('latitude')},{message.get('longitude')}"
        return [(f"{fallback_text(message)}\n{link}", [])]
    if kind in ("card", "carousel"):
        return [_card(item) for item in (message.get("items") if kind == "carousel" else [message]) or []]
    if kind == "bloc":
        return [part for item in message.get("items") or [] for part in render(item)]
    text = fallback_text(message)
    return [(text, [])] if text else []


def _card(card: dict) -> tuple[str, list[str]]:
    """A card: its title and subtitle, its links as "label: URL", its other actions as
    numbered lines with their labels (the user answers with one), its image as the MMS's
    picture."""
    actions = card.get("actions") or []
    lines = [str(p) for p in (card.get("title"), card.get("subtitle")) if p]
    lines += [f"{a.get('label')}: {a.get('value')}" for a in actions if a.get("action") == "url"]
    replies = [a for a in actions if a.get("action") != "url"]
    lines += [f"{n}. {a.get('label')}" for n, a in enumerate(replies, start=1)]
    return "\n".join(lines), [card["imageUrl"]] if card.get("imageUrl") else []
