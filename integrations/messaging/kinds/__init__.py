"""The channel kinds: one module each (webhook, telegram, slack, meta for WhatsApp and
Messenger, twilio_sms), registered here by name.

A kind says how its channel talks:

- `Config`: the pydantic model of what a bot builder pastes; fields marked
  `json_schema_extra={"secret": True}` are stored encrypted and never shown again.
- `verify(config, request, body)`: the channel's own signature scheme; raises `Refused`.
- `handshake(config, request, body)`: a JSON answer the channel expects instead of an
  acknowledgement (Slack's URL verification), or None.

`request` has `headers` (case-insensitive `.get`), `content_type` and `webhook_url` (the
public URL the channel was given, which Twilio signs): a Django request or the ASGI front's
`asgi.InboundRequest`.
- `parse(config, request, body)`: the updates in the request as `Inbound` items (an update
  the bot has nothing to do with, such as the bot's own message echoed back, is skipped).
- `send(config, address, outgoing)`: one of the bot's messages (with when the user last
  wrote, for WhatsApp's 24-hour window) to the channel's API, through
  the outbound guard; raises `SendFailed` (retried) or `SendRejected` (recorded, not retried).
- `challenge(config, params)`: the answer to a GET on the webhook URL (Meta's `hub.challenge`
  handshake), as (content type, body); raises `Refused`. Kinds without one answer 405.
- `acknowledgement`: (content type, body) of the 200 to an update (Twilio wants TwiML).
- `check(config)`: "test connection": one harmless call to the channel's API with the saved
  credentials; returns what the channel says it is connected to, raises `Refused`,
  `SendFailed` or `SendRejected`.
- `on_save(config, webhook_url)`: what the channel needs when it is saved (Telegram's
  setWebhook); raises `Refused` with the channel's answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from flows import untrusted_json


class Refused(Exception):
    """An inbound request or a config the channel will not take: `status` and the reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def decode_json(body: bytes | str, what: str):
    """An inbound body (or a form field) as JSON, under the one policy for outside input
    (flows/untrusted_json.py: depth, NUL, lone surrogates); a refusal is a 400 that says
    what the body should have been and what is wrong, with the JSON path."""
    try:
        return untrusted_json.decode(body)
    except untrusted_json.UntrustedJSON as exc:
        raise Refused(400, f"{what}: {exc}") from None


class SendFailed(Exception):
    """Worth retrying: unreachable, 5xx, 408 or 429 (`retry_after` from the channel)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class SendRejected(Exception):
    """Not retried: the channel refused this message (another 4xx, or its `ok: false`)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class Inbound:
    """One update as the bot's event: who, in which chat, what."""

    update_id: str
    address_key: str
    address: dict
    user_id: str
    event_type: str
    payload: dict
    user_name: str = ""
    # Tags of the conversation and user (`telegram:id`...), kept on their rows.
    conversation_tags: dict = field(default_factory=dict)
    user_tags: dict = field(default_factory=dict)


@dataclass
class Outgoing:
    """One of the bot's messages: `message` as the engine emitted it ({"type": ..., ...})."""

    id: str
    seq: int
    message: dict
    # When the user last wrote in the conversation (None: never): WhatsApp's 24-hour window.
    last_incoming_at: datetime | None = None


class ChannelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @classmethod
    def secret_fields(cls) -> set[str]:
        return {name for name, info in cls.model_fields.items()
                if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("secret")}


class ChannelKind:
    name: str = ""
    label: str = ""
    Config: type[ChannelConfig] = ChannelConfig
    # Fields generated when the builder leaves them empty (a webhook secret...).
    generated: tuple[str, ...] = ()

    def verify(self, config, request, body: bytes) -> None:
        raise NotImplementedError

    def handshake(self, config, request, body: bytes):
        return None

    def parse(self, config, request, body: bytes) -> list[Inbound]:
        raise NotImplementedError

    def send(self, config, address: dict, outgoing: Outgoing) -> None:
        raise NotImplementedError

    def validate(self, config) -> None:
        """Checks beyond the config's types (a URL the outbound guard refuses...)."""

    def generate(self, field: str) -> str:
        raise NotImplementedError

    def on_save(self, config, webhook_url: str) -> None:
        return None

    # The 200 that acknowledges an update: empty, but for Twilio (TwiML).
    acknowledgement: tuple[str, bytes] = ("application/json", b"")

    # Kinds that take a GET on their webhook URL (Meta's verification) override this.
    def challenge(self, config, params) -> tuple[str, bytes]:
        raise Refused(405, f"the {self.label} channel's webhook takes POST")

    def check(self, config) -> str:
        raise Refused(400, f"the {self.label} channel has no connection test")


KINDS: dict[str, ChannelKind] = {}


def register(cls):
    KINDS[cls.name] = cls()
    return cls


def get(name: str) -> ChannelKind | None:
    return KINDS.get(name)


def numbered_choices(message: dict) -> str:
    """A choice as text, for where a channel has no buttons: the question, then one
    numbered line per option (the user answers with the label or the value)."""
    lines = [str(message.get("text") or "")]
    lines += [f"{n}. {option.get('label', option.get('value', ''))}"
              for n, option in enumerate(message.get("options") or [], start=1)]
    return "\n".join(line for line in lines if line)


def fallback_text(message: dict) -> str:
    """The words of a message a channel cannot render as such (a bloc, an unknown type)."""
    kind = message.get("type")
    if kind in ("text", "markdown"):
        return str(message.get(kind if kind == "markdown" else "text") or message.get("text") or "")
    if kind in ("choice", "dropdown"):
        return numbered_choices(message)
    if kind in ("image", "audio", "video", "file"):
        return " ".join(str(part) for part in (message.get("title"), message.get(f"{kind}Url")) if part)
    if kind == "location":
        return " ".join(str(part) for part in (message.get("title"), message.get("address"),
                                                f"{message.get('latitude')},{message.get('longitude')}") if part)
    if kind == "card":
        return "\n".join(str(part) for part in (message.get("title"), message.get("subtitle")) if part)
    if kind == "carousel":
        return "\n\n".join(fallback_text({"type": "card", **item}) for item in message.get("items") or [])
    if kind == "bloc":
        return "\n".join(fallback_text(item) for item in message.get("items") or [])
    return str(message.get("text") or "")


def load_all() -> None:
    from . import meta, slack, telegram, twilio_sms, webhook  # noqa: F401  (each registers itself)
