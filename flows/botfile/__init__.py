"""The bot file (`flowstudio.bot/1`): schema, validation, defaults and canonical form.

See docs/bot-format.md for the format itself. Names are loaded on first use so that
`python -m flows.botfile.schema` runs the module fresh rather than a pre-imported copy.
"""
from importlib import import_module

_EXPORTS = {
    "FORMAT": "schema",
    "build_schema": "schema",
    "BotFileInvalid": "problems",
    "Problem": "problems",
    "canonical_bot": "canonical",
    "check_bot": "validate",
    "normalize_bot": "validate",
    "parse_bot_file": "validate",
    "validate_bot": "validate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'flows.botfile' has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
