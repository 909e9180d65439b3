"""The generic webhook channel: any system (Zapier, n8n, a CRM) talks to the bot with signed
JSON. The contract is in docs/channels.md, "Generic webhook".

Both directions are signed the way the Chat API's outgoing webhook is
(integrations/chat_api/webhooks.py): `X-Flowstudio-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<raw body>">` with the channel's secret, `X-Flowstudio-Timestamp` within five
minutes of the server's clock.
"""
from __future__ import annotations

import json
import secrets
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from integrations.chat_api import webhooks as signed_webhooks
from runtime import outbound
from runtime.engine import MESSAGE_EVENT_TYPES

from . import ChannelConfig, ChannelKind, Inbound, Refused, decode_json, register
from .api_calls import post_json

SIGNATURE_HEADER = "X-Flowstudio-Signature"
TIMESTAMP_HEADER = "X-Flowstudio-Timestamp"
DELIVERY_HEADER = "X-Flowstudio-Delivery"
TOLERANCE_SECONDS = 300


class Config(ChannelConfig):
    url: str = Field(default="", title="Reply URL",
                     description="Where the bot's replies are POSTed (empty: replies are not sent).")
    secret: str = Field(min_length=16, title="Secret", json_schema_extra={"secret": True},
                        description="Signs both directions (HMAC-SHA256), at least 16 characters; generated when left empty.")


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str


class _Update(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=255)
    conversationId: str = Field(min_length=1, max_length=200)
    userId: str = Field(min_length=1, max_length=200)
    userName: str = ""
    message: _Message
    metadata: dict[str, Any] | None = None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return signed_webhooks.sign(secret, timestamp, body)


def signed_headers(secret: str, body: bytes) -> dict:
    timestamp = int(time.time())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


@register
class Webhook(ChannelKind):
    name = "webhook"
    label = "Generic webhook"
    Config = Config
    generated = ("secret",)

    def generate(self, field: str) -> str:
        return secrets.token_urlsafe(32)

    def validate(self, config: Config) -> None:
        if config.url:
            try:
                outbound.validate_url(config.url)
            except outbound.OutboundRefused as exc:
                raise Refused(400, f"reply URL {config.url!r} is refused: {exc}") from None

    def verify(self, config, request, body):
        if not signed_webhooks.verify(config.secret, request.headers.get(TIMESTAMP_HEADER, ""), body,
                                      request.headers.get(SIGNATURE_HEADER, ""),
                                      tolerance_seconds=TOLERANCE_SECONDS):
            raise Refused(401, f"bad or missing {SIGNATURE_HEADER} (HMAC-SHA256 of '<timestamp>.<body>' "
                               f"with the channel's secret, {TIMESTAMP_HEADER} within {TOLERANCE_SECONDS} s)")

    def parse(self, config, request, body):
        data = decode_json(body, "the body is not an update")
        try:
            update = _Update.model_validate(data)
        except ValueError as exc:
            if isinstance(exc, ValidationError):
                problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
                raise Refused(400, f"invalid update: {problems}") from None
            raise Refused(400, f"the body is not JSON: {exc}") from None
        message = update.message.model_dump()
        kind = message.pop("type")
        if kind not in MESSAGE_EVENT_TYPES:
            raise Refused(400, f"invalid update: message.type: {kind!r} is not one of {sorted(MESSAGE_EVENT_TYPES)}")
        return [Inbound(update_id=update.id, address_key=update.conversationId,
                        address={"conversationId": update.conversationId, "userId": update.userId},
                        user_id=update.userId, user_name=update.userName, event_type=kind, payload=message,
                        conversation_tags={"webhook:id": update.conversationId},
                        user_tags={"webhook:id": update.userId})]

    def send(self, config, address, outgoing):
        if not config.url:
            return
        body = json.dumps({"id": outgoing.id, "conversationId": address["conversationId"],
                           "userId": address["userId"], "seq": outgoing.seq, "message": outgoing.message},
                          separators=(",", ":"), ensure_ascii=False).encode()
        post_json(config.url, {}, body=body,
                  headers={DELIVERY_HEADER: outgoing.id, **signed_headers(config.secret, body)})
