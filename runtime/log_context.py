"""What every log line says about where it comes from: the request id (set by the ASGI
front, studio/asgi.py) and the conversation id (set while its turns run), carried in
context variables so they follow a request onto its tasks and threads. Imported by the
logging configuration (studio/settings.py), so nothing here touches Django's apps."""
from __future__ import annotations

import logging
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("flowstudio_request_id", default=None)
conversation_id: ContextVar[str | None] = ContextVar("flowstudio_conversation_id", default=None)

# A request id a proxy sent is kept when it looks like one (no CR/LF or other log noise).
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id(given: str | None = None) -> str:
    return given if given and _GIVEN_ID.match(given) else uuid.uuid4().hex


@contextmanager
def conversation(conversation_pk):
    token = conversation_id.set(str(conversation_pk))
    try:
        yield
    finally:
        conversation_id.reset(token)


class ContextFilter(logging.Filter):
    """Adds `request_id` and `conversation_id` to every record (None outside of one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.conversation_id = conversation_id.get()
        return True
