"""The Chat API wire format (`@botpress/chat` 0.5.5, `dist/gen`): JSON shapes of users,
conversations, messages, events and signals, and the check of incoming message payloads.

Shapes are exactly the client's: optional fields are left out rather than null (its zod
schemas refuse null), dates are UTC ISO 8601 with milliseconds and a `Z`.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from .errors import InvalidPayload

# Caller-chosen user and conversation ids.
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ID_RULE = "1 to 64 letters, digits, '-' or '_'"
PAGE_SIZE = 20


def timestamp(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def check_id(value, what: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidPayload(f"{what} {value!r} is not valid: use {ID_RULE}")
    return value


def bot_user_id(bot_id) -> str:
    # A ':' can never be in a caller-chosen id, so no user can pose as the bot.
    return f"bot:{bot_id}"


def user(end_user, chat_profile=None) -> dict:
    out = {"id": end_user.external_id}
    if end_user.name:
        out["name"] = end_user.name
    updated = end_user.updated_at
    if chat_profile is not None:
        if chat_profile.picture_url:
            out["pictureUrl"] = chat_profile.picture_url
        if chat_profile.profile:
            out["profile"] = chat_profile.profile
        updated = max(updated, chat_profile.updated_at)
    out["createdAt"] = timestamp(end_user.created_at)
    out["updatedAt"] = timestamp(updated)
    return out


def conversation(conv) -> dict:
    return {"id": conv.external_id, "createdAt": timestamp(conv.created_at), "updatedAt": timestamp(conv.updated_at)}


def message(msg, conversation_id: str, user_id: str) -> dict:
    out = {
        "id": str(msg.pk),
        "createdAt": timestamp(msg.created_at),
        "payload": {"type": msg.type, **msg.payload},
        "userId": user_id,
        "conversationId": conversation_id,
    }
    if msg.metadata is not None:
        out["metadata"] = msg.metadata
    return out


def event(msg, conversation_id: str, user_id: str) -> dict:
    """A custom event, stored as a message of type "event" with payload {"payload": {...}}."""
    return {
        "id": str(msg.pk),
        "createdAt": timestamp(msg.created_at),
        "payload": msg.payload.get("payload", {}),
        "conversationId": conversation_id,
        "userId": user_id,
    }


def signal(kind: str, data: dict) -> dict:
    return {"type": kind, "data": data}


# ---- incoming payloads ---------------------------------------------------------------------
_STR, _OPT_STR, _NUM, _OPT_NUM = "string", "optional string", "number", "optional number"
_ACTION = {"action": ("postback", "url", "say"), "label": _STR, "value": _STR}
_CARD = {"title": _STR, "subtitle": _OPT_STR, "imageUrl": _OPT_STR, "actions": [_ACTION]}
_OPTION = {"label": _STR, "value": _STR}
_BLOC_ITEM_TYPES = {
    "text": {"text": _STR},
    "markdown": {"markdown": _STR},
    "image": {"imageUrl": _STR},
    "audio": {"audioUrl": _STR},
    "video": {"videoUrl": _STR},
    "file": {"fileUrl": _STR, "title": _OPT_STR},
    "location": {"latitude": _NUM, "longitude": _NUM, "address": _OPT_STR, "title": _OPT_STR},
}
PAYLOAD_TYPES = {
    **_BLOC_ITEM_TYPES,
    "card": _CARD,
    "carousel": {"items": [{"type": ("card",), **_CARD}]},
    "choice": {"text": _STR, "options": [_OPTION]},
    "dropdown": {"text": _STR, "options": [_OPTION]},
    "bloc": {"items": "bloc items"},
}


def check_message_payload(payload) -> tuple[str, dict]:
    """(type, fields without type) of a valid message payload; InvalidPayload naming the
    field otherwise. Fields beyond the documented ones are kept, as Botpress does."""
    if not isinstance(payload, dict):
        raise InvalidPayload("payload must be an object with a 'type'")
    kind = payload.get("type")
    if kind not in PAYLOAD_TYPES:
        raise InvalidPayload(f"payload.type {kind!r} is not a message type; use one of: {', '.join(PAYLOAD_TYPES)}")
    _check_fields(payload, PAYLOAD_TYPES[kind], "payload")
    return kind, {k: v for k, v in payload.items() if k != "type"}


def _check_fields(value: dict, spec: dict, path: str) -> None:
    for name, rule in spec.items():
        where = f"{path}.{name}"
        if name not in value or value[name] is None:
            if isinstance(rule, str) and rule.startswith("optional"):
                continue
            raise InvalidPayload(f"{where} is required")
        _check_value(value[name], rule, where)


def _check_value(item, rule, where: str) -> None:
    if rule in (_STR, _OPT_STR):
        if not isinstance(item, str) or not item:
            raise InvalidPayload(f"{where} must be a non-empty string")
    elif rule in (_NUM, _OPT_NUM):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise InvalidPayload(f"{where} must be a number")
    elif isinstance(rule, tuple):
        if item not in rule:
            raise InvalidPayload(f"{where} must be one of: {', '.join(rule)}")
    elif isinstance(rule, list):
        if not isinstance(item, list):
            raise InvalidPayload(f"{where} must be a list")
        for i, entry in enumerate(item):
            if not isinstance(entry, dict):
                raise InvalidPayload(f"{where}[{i}] must be an object")
            _check_fields(entry, rule[0], f"{where}[{i}]")
    elif rule == "bloc items":
        if not isinstance(item, list) or not item:
            raise InvalidPayload(f"{where} must be a non-empty list")
        for i, entry in enumerate(item):
            kind = entry.get("type") if isinstance(entry, dict) else None
            if kind not in _BLOC_ITEM_TYPES:
                raise InvalidPayload(f"{where}[{i}].type must be one of: {', '.join(_BLOC_ITEM_TYPES)}")
            _check_fields(entry, _BLOC_ITEM_TYPES[kind], f"{where}[{i}]")
