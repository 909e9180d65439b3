"""The channels' inbound webhook front: a plain ASGI application for `/integrations/...`
(studio/asgi.py sends those paths here, the rest to Django), as the Chat API has one.

Not the Django view stack, for the same reason as the Chat API's (integrations/chat_api/asgi.py):
a channel's update needs none of the studio's middleware, and under ASGI that middleware
runs on Django's one sync thread, with a new database connection per request, so
acknowledgements queued behind each other (Slack wants one within 3 s). Here the request is
read on the loop; a channel already in memory is acknowledged there, with one statement on the
async PostgreSQL pool (`views.handle_on_loop`), the rest runs on the Chat API's request
threads, which keep their connections.
"""
from __future__ import annotations

import json
import re
import uuid

from django.http import QueryDict

from integrations.chat_api import workers

from . import views

PREFIX = "/integrations/"
_PATH = re.compile(r"^/integrations/(?P<kind>[-a-zA-Z0-9_]+)/(?P<bot>[0-9a-fA-F-]{32,36})/(?P<secret>[^/]+)/?$")


class InboundRequest:
    """What the channel kinds read of a request: its headers and content type."""

    def __init__(self, scope):
        self.headers = _Headers(scope)
        self.content_type = self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class _Headers:
    def __init__(self, scope):
        self._values = {}
        for name, value in scope.get("headers") or ():
            self._values.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))

    def get(self, name: str, default=None):
        return self._values.get(name.lower(), default)


async def application(scope, receive, send):
    match = _PATH.match(scope["path"])
    if match is None:
        return await _answer(send, 404, {"error": "no such channel: the webhook URL is wrong"})
    if scope["method"] not in ("GET", "POST"):
        return await _answer(send, 405, {"error": "a channel's webhook takes POST"}, [(b"allow", b"POST")])
    try:
        bot_id = uuid.UUID(match["bot"])
    except ValueError:
        return await _answer(send, 404, {"error": "no such channel: the webhook URL is wrong"})
    if scope["method"] == "GET":
        # Meta's verification handshake (hub.challenge); other kinds answer 405.
        params = QueryDict(scope.get("query_string", b"").decode("latin-1"))
        status, content, content_type = await workers.run(views.handle_get, match["kind"], bot_id, match["secret"],
                                                          params)
        return await _send(send, status, content, _allow(status), content_type)
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if len(body) > views.MAX_BODY_BYTES:
            return await _answer(send, 413, {"error": f"the update is larger than {views.MAX_BODY_BYTES} bytes"})
        if not message.get("more_body"):
            break
    status, content, content_type = await views.handle_on_loop(InboundRequest(scope), match["kind"], bot_id,
                                                               match["secret"], bytes(body))
    await _send(send, status, content, (), content_type)


def _allow(status: int):
    return [(b"allow", b"POST")] if status == 405 else []


async def _answer(send, status: int, payload: dict, headers=()):
    await _send(send, status, json.dumps(payload).encode(), headers)


async def _send(send, status: int, content: bytes, headers=(), content_type: str = "application/json"):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(content)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": content})
