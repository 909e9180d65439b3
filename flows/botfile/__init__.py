"""The bot file (`flowstudio.bot/1`): schema, validation, defaults and canonical form.

See docs/bot-format.md for the format itself.
"""
from .canonical import canonical_bot
from .problems import BotFileInvalid, Problem
from .schema import FORMAT, build_schema
from .validate import check_bot, normalize_bot, parse_bot_file, validate_bot

__all__ = [
    "FORMAT", "BotFileInvalid", "Problem", "build_schema", "canonical_bot", "check_bot",
    "normalize_bot", "parse_bot_file", "validate_bot",
]
