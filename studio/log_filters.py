"""Log lines carry what clients sent (paths, ids, headers): a CR/LF there would forge a new
line in the log, a NUL truncates it in some tools. Every record through the console handler
has its control characters escaped (`\\n` -> `\\\\n`, NUL -> `\\\\x00`); tracebacks keep their lines
(they come from the server, not the client). docs/security.md, "Untrusted input"."""
from __future__ import annotations

import logging
import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029\ud800-\udfff]")  # but TAB; surrogates cannot be written


def escape_control(text: str) -> str:
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


class EscapeControlCharacters(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape_control(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        return True
