"""What a chat client (the webchat widget, the emulator panel) may send as a user message:
typed text, or a click on a choice, card button or dropdown. One set of rules and wording
for every client, checked before anything is stored."""
from __future__ import annotations

import json

MAX_TEXT = 4096
MESSAGE_TYPES = ("text", "choice", "postback", "quick_reply")


class ClientMessageInvalid(ValueError):
    pass


def clean_client_message(payload, *, client: str, hint: str = "") -> tuple[str, dict]:
    """`(event type, payload to store)` or ClientMessageInvalid saying what is wrong.
    `client` names the sender in messages ("the webchat"); `hint` is added to the
    refusal of an unknown type."""
    if not isinstance(payload, dict):
        raise ClientMessageInvalid('a message payload must be an object like {"type": "text", "text": "hi"}')
    kind = payload.get("type")
    if kind not in MESSAGE_TYPES:
        raise ClientMessageInvalid(f"message type {kind!r} cannot be sent from {client} "
                                   f"(allowed: {', '.join(MESSAGE_TYPES)}{hint})")
    if kind == "text":
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ClientMessageInvalid("a text message needs a non-empty text")
        if len(text) > MAX_TEXT:
            raise ClientMessageInvalid(f"a message is at most {MAX_TEXT} characters (got {len(text)})")
        return kind, {"text": text}
    value, label = payload.get("value"), payload.get("label")
    if value is None or isinstance(value, (dict, list)):
        raise ClientMessageInvalid(f"a {kind} needs a value (text, number or true/false)")
    if label is not None and not isinstance(label, str):
        raise ClientMessageInvalid(f"the label of a {kind} must be text")
    clean = {"value": value, "label": label if label is not None else str(value)}
    if len(json.dumps(clean)) > MAX_TEXT:
        raise ClientMessageInvalid(f"a {kind} is at most {MAX_TEXT} characters")
    return kind, clean
