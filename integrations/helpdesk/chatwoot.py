"""Chatwoot's Application API and webhooks, as far as the handoff needs them
(docs/handoff.md, "An external desk: Chatwoot"). Every call goes through the outbound guard
(runtime/outbound.py), by the channels' API caller (integrations/messaging/kinds/api_calls.py:
15 s, a 256 KB answer, 5xx/408/429 retried), with the `api_access_token` header Chatwoot takes.

The calls (account `A`, inbox `I`):

- `GET  /api/v1/accounts/A/inboxes/I`: the connection test (the inbox's name and type).
- `POST /api/v1/accounts/A/contacts` `{inbox_id, name, identifier}`: the user as a contact;
  answers `{"payload": {"contact": {"id"...}, "contact_inbox": {"source_id"...}}}`. An
  identifier already taken answers 422: then `GET .../contacts/search?q=<identifier>` finds
  it and `POST .../contacts/<id>/contact_inboxes` `{inbox_id}` gives its `source_id`.
- `POST /api/v1/accounts/A/conversations` `{source_id, inbox_id, contact_id, status: "pending",
  additional_attributes}`: the conversation, answers `{"id": <display id>, ...}`.
- `POST /api/v1/accounts/A/conversations/C/messages` `{content, message_type, private}`.
- `POST /api/v1/accounts/A/conversations/C/toggle_status` `{status: "open"}`: the handoff.

Webhooks (`message_created`, `conversation_status_changed`, an agent bot's
`conversation_resolved`) are signed by Chatwoot with the webhook's secret:
`X-Chatwoot-Timestamp: <unix seconds>` and `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<raw body>">`.
"""
from __future__ import annotations

import hashlib
import hmac
import time

from pydantic import BaseModel, ConfigDict, Field, field_validator

from integrations.messaging.kinds import SendFailed as Unavailable  # retried: unreachable, 5xx, 408, 429
from integrations.messaging.kinds import SendRejected as Rejected  # another 4xx: not retried
from integrations.messaging.kinds import api_calls

# A signed webhook's timestamp must be this close to the server's clock (a replay later is refused).
SIGNATURE_TOLERANCE_SECONDS = 300


class Config(BaseModel):
    """What a bot builder pastes from Chatwoot (Settings → Inboxes, Profile / Agent Bots)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    base_url: str = Field(title="Chatwoot URL", max_length=500,
                          description="Where your Chatwoot answers, such as https://chat.example.com")
    account_id: int = Field(title="Account ID", ge=1, description="The number after /accounts/ in Chatwoot's URLs")
    inbox_id: int = Field(title="Inbox ID", ge=1,
                          description="An API channel inbox: Settings → Inboxes → the inbox's number in its URL")
    api_access_token: str = Field(title="API access token", min_length=8, max_length=500,
                                  json_schema_extra={"secret": True},
                                  description="An agent's or administrator's access token (Profile settings)")
    webhook_secret: str = Field(title="Webhook secret", min_length=8, max_length=500,
                                json_schema_extra={"secret": True},
                                description="The secret Chatwoot shows for the webhook that calls Flowstudio")

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @classmethod
    def secret_fields(cls) -> set[str]:
        return {name for name, info in cls.model_fields.items()
                if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("secret")}


def _call(config: Config, method: str, path: str, body: dict | None = None) -> dict:
    """One call through the channels' API caller (the outbound guard; the answer sorted into
    a success, Unavailable to retry, or Rejected)."""
    url = f"{config.base_url}/api/v1/accounts/{config.account_id}{path}"
    headers = {"api_access_token": config.api_access_token, "Accept": "application/json"}
    if body is None:
        return api_calls.get_json(url, headers=headers)[1]
    return api_calls.post_json(url, body, headers=headers)[1]


__all__ = ["Config", "Rejected", "Unavailable"]


def check(config: Config) -> str:
    """The connection test: the inbox the token can read."""
    inbox = _call(config, "GET", f"/inboxes/{config.inbox_id}")
    return f"Chatwoot: connected to inbox {inbox.get('name') or config.inbox_id} ({inbox.get('channel_type') or 'inbox'})"


def contact(config: Config, *, identifier: str, name: str) -> tuple[int, str]:
    """(contact id, source id) of the user in the inbox, made when it is not there yet."""
    try:
        made = _call(config, "POST", "/contacts", {"inbox_id": config.inbox_id, "name": name, "identifier": identifier})
    except Rejected as exc:
        if exc.status != 422:  # 422: the identifier is taken, the contact exists
            raise
    else:
        payload = made.get("payload") or {}
        contact_id = (payload.get("contact") or {}).get("id")
        source_id = (payload.get("contact_inbox") or {}).get("source_id")
        if contact_id and source_id:
            return int(contact_id), str(source_id)
        if contact_id:
            return int(contact_id), _source_id(config, int(contact_id))
        raise Rejected("Chatwoot's answer to POST /contacts has no contact id")
    found = _call(config, "GET", f"/contacts/search?q={_quote(identifier)}").get("payload") or []
    for item in found if isinstance(found, list) else []:
        if isinstance(item, dict) and item.get("identifier") == identifier and item.get("id"):
            return int(item["id"]), _source_id(config, int(item["id"]))
    raise Rejected(f"Chatwoot refused the contact {identifier} and does not find it either")


def _source_id(config: Config, contact_id: int) -> str:
    made = _call(config, "POST", f"/contacts/{contact_id}/contact_inboxes", {"inbox_id": config.inbox_id})
    source_id = made.get("source_id")
    if not source_id:
        raise Rejected("Chatwoot's answer to POST /contact_inboxes has no source_id")
    return str(source_id)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def open_conversation(config: Config, *, contact_id: int, source_id: str, attributes: dict) -> int:
    """A new conversation, `pending` until the handoff toggles it `open`; its display id."""
    made = _call(config, "POST", "/conversations", {
        "source_id": source_id, "inbox_id": config.inbox_id, "contact_id": contact_id, "status": "pending",
        "additional_attributes": attributes})
    if not made.get("id"):
        raise Rejected("Chatwoot's answer to POST /conversations has no id")
    return int(made["id"])


def post_message(config: Config, conversation_id: int, content: str, *, incoming: bool, private: bool = False) -> int:
    made = _call(config, "POST", f"/conversations/{conversation_id}/messages", {
        "content": content, "message_type": "incoming" if incoming else "outgoing", "private": private})
    return int(made.get("id") or 0)


def set_status(config: Config, conversation_id: int, status: str) -> None:
    _call(config, "POST", f"/conversations/{conversation_id}/toggle_status", {"status": status})


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_problem(secret: str, headers, body: bytes, *, now: float | None = None) -> str | None:
    """Why the webhook's signature does not hold, or None when it does."""
    timestamp = headers.get("X-Chatwoot-Timestamp") or ""
    given = headers.get("X-Chatwoot-Signature") or ""
    if not timestamp or not given:
        return "the webhook is not signed (X-Chatwoot-Timestamp and X-Chatwoot-Signature)"
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return f"the webhook's timestamp is not within {SIGNATURE_TOLERANCE_SECONDS} s of the server's clock"
    if not hmac.compare_digest(signature(secret, timestamp, body), given):
        return "the webhook's signature does not match the webhook secret"
    return None
