"""`bot chat`: talk to a bot from a terminal, or pipe a script of user lines through it.

It goes through the turn service like every other channel, so what you see here is what a
webchat user would get.
"""
from __future__ import annotations

import json

from django.core.management.base import CommandError

from flows import services as flow_services
from runtime import turns

PROMPT = "you> "
BOT_PREFIX = "bot> "


def run_chat(bot, *, draft: bool, user_id: str | None, stdin, stdout) -> None:
    if not draft:
        try:
            flow_services.get_build(bot, draft=False)
        except flow_services.NotPublished:
            raise CommandError(
                f"bot {bot.name!r} has no published version: publish it first, or chat with the draft (--draft)"
            ) from None
    user = turns.get_or_create_user(bot, user_id)
    conversation = turns.start_conversation(bot, user, draft=draft, channel="cli")
    interactive = _is_tty(stdin)
    prefix = BOT_PREFIX if interactive else ""

    while True:
        if interactive:
            stdout.write(PROMPT)
            stdout.flush()
        line = stdin.readline()
        if not line:
            if interactive:
                # End of input (Ctrl-D): leave the shell prompt on a line of its own.
                stdout.write("\n")
            break
        text = line.strip()
        if not text:
            continue
        outcome = turns.send_user_message(conversation, text)
        if outcome.failed:
            stdout.write(f"{prefix}[error] {outcome.error}\n")
        for output in outcome.outputs:
            stdout.write(f"{prefix}{format_output(output)}\n")
        stdout.flush()


def _is_tty(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def format_output(output: dict) -> str:
    """One readable line per bot message; text is printed as is."""
    kind = output.get("type", "text")
    if kind == "text":
        return str(output.get("text", ""))
    if kind == "markdown":
        return str(output.get("markdown", ""))
    if kind in ("choice", "dropdown", "quick_reply", "single_choice"):
        options = output.get("choices") or output.get("options") or []
        labels = " | ".join(_choice_label(option) for option in options)
        return _joined(f"[{kind}]", output.get("text"), f"({labels})")
    if kind in ("image", "audio", "video", "file"):
        return _joined(f"[{kind}]", output.get("title"), output.get(f"{kind}Url") or output.get("url"))
    if kind == "location":
        return _joined("[location]", output.get("title"), output.get("address"),
                       f"({output.get('latitude')}, {output.get('longitude')})")
    if kind == "card":
        return _card_line(output)
    if kind == "carousel":
        return "[carousel] " + " || ".join(_card_line(item)[len("[card] "):] for item in output.get("items", []))
    fields = {k: v for k, v in output.items() if k != "type"}
    return f"[{kind}] {json.dumps(fields, ensure_ascii=False, sort_keys=True)}"


def _card_line(card: dict) -> str:
    actions = " | ".join(_choice_label(action) for action in card.get("actions") or [])
    return _joined("[card]", card.get("title"), card.get("subtitle"), card.get("imageUrl"),
                   f"({actions})" if actions else "")


def _choice_label(option) -> str:
    if isinstance(option, dict):
        return str(option.get("label") or option.get("title") or option.get("value", ""))
    return str(option)


def _joined(*parts) -> str:
    return " ".join(str(part) for part in parts if part not in (None, ""))
