"""The inbound webhook of every channel: `/integrations/<kind>/<bot>/<secret id>/`.

Checked in this order, each refusal a 4xx with the reason in words and nothing stored:
the channel exists (404), is enabled (403), its stored config is readable (409), the body
is at most 1 MB (413), the request carries the channel's signature (401), the bot has a
published version (409), the body is an update of that channel (400). Then the updates are
stored in one statement (a redelivered one once) and the answer is 200 at once; a worker
makes them events and runs the turn after (inbound.py).

A GET on the same URL is the channel's verification handshake where it has one (Meta's
`hub.challenge` for WhatsApp and Messenger: `handle_get`), checked the same way up to the
config; other kinds answer 405.

`handle` is the whole of it. Servers reach it through the ASGI front (asgi.py, ahead of
Django's middleware); the Django view below serves the same URL to Django's test client
and to `reverse()`.
"""
from __future__ import annotations

import json
import logging

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import inbound as inbound_updates  # `inbound` is the view below
from integrations.chat_api import workers
from runtime import pg

from . import kinds, services
from .kinds import Refused

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


JSON = "application/json"


def handle(request, kind: str, bot_id, secret_id: str, body: bytes, *, fresh: bool = False) -> tuple[int, bytes, str]:
    """(status, body, content type) for one inbound request: a JSON refusal, the kind's
    acknowledgement, or its handshake's JSON answer. `fresh`: read the channel from the
    database even when it is in memory."""
    try:
        for attempt in range(3):
            # The channel from memory first; read again when memory may be behind the row:
            # a refusal (a secret rotated elsewhere) or a store that found the row changed.
            ready, from_memory = inbound_updates.ready_channel(kind, bot_id, secret_id, fresh=fresh or attempt > 0)
            try:
                answer = _acknowledge(ready, request, body)
            except Refused:
                if from_memory:
                    continue
                raise
            except inbound_updates.Stale:
                continue
            return answer
        raise Refused(409, "the channel was changed while this update arrived: deliver it again")
    except Refused as exc:
        return _refusal(kind, exc)


async def handle_on_loop(request, kind: str, bot_id, secret_id: str, body: bytes) -> tuple[int, bytes, str]:
    """`handle` for the ASGI front. A channel in memory is acknowledged on the loop: checks and
    parsing in memory, then the one statement on the async pool (as the Chat API stores a
    message). Anything else, a channel not in memory, a refusal, a channel changed since,
    SQLite, goes `handle`'s way on a request thread, reading the channel again."""
    ready = inbound_updates.in_memory(kind, bot_id, secret_id)
    if ready is not None and pg.available():
        try:
            answer, updates = _checked(ready, request, body)
            if answer is None:
                await inbound_updates.store_on_loop(ready, updates)
                answer = _acknowledgement(ready)
            return answer
        except (Refused, inbound_updates.Stale):
            pass
    return await workers.run(handle, request, kind, bot_id, secret_id, body, fresh=ready is not None)


def _acknowledge(ready: inbound_updates.ReadyChannel, request, body: bytes) -> tuple[int, bytes, str]:
    answer, updates = _checked(ready, request, body)
    if answer is None:
        inbound_updates.store(ready, updates)
        answer = _acknowledgement(ready)
    return answer


def _checked(ready: inbound_updates.ReadyChannel, request, body: bytes):
    """(the handshake's answer, None) when the request is one, else (None, its updates),
    each checked; Refused with the reason."""
    if len(body) > MAX_BODY_BYTES:
        raise Refused(413, f"the update is larger than {MAX_BODY_BYTES} bytes")
    # Twilio signs the URL it was given; behind a proxy only PUBLIC_URL knows it.
    request.webhook_url = ready.webhook_url
    ready.kind.verify(ready.config, request, body)
    answer = ready.kind.handshake(ready.config, request, body)
    if answer is not None:
        return (200, json.dumps(answer).encode(), JSON), None
    if not ready.published:
        raise Refused(409, "the bot has no published version yet: publish it, then the channel answers")
    updates = ready.kind.parse(ready.config, request, body)
    inbound_updates.check(updates)
    return None, updates


def _acknowledgement(ready: inbound_updates.ReadyChannel) -> tuple[int, bytes, str]:
    content_type, content = ready.kind.acknowledgement
    return 200, content, content_type


def _refusal(kind: str, exc: Refused) -> tuple[int, bytes, str]:
    logger.info("%s update refused (%s): %s", kind, exc.status, exc.reason)
    return exc.status, json.dumps({"error": exc.reason}).encode(), JSON


def handle_get(kind: str, bot_id, secret_id: str, params) -> tuple[int, bytes, str]:
    """A GET on the webhook URL: the kind's verification handshake (`params` has `.get`)."""
    try:
        channel = services.find_inbound_channel(kind, bot_id, secret_id)
        config = services.config_of(channel)
        content_type, content = kinds.get(kind).challenge(config, params)
    except Refused as exc:
        return _refusal(kind, exc)
    return 200, content, content_type


@csrf_exempt
@require_http_methods(["GET", "POST"])
def inbound(request, kind, bot_id, secret_id):
    if request.method == "GET":
        status, content, content_type = handle_get(kind, bot_id, secret_id, request.GET)
    else:
        status, content, content_type = handle(request, kind, bot_id, secret_id, request.body)
    response = HttpResponse(content, status=status, content_type=content_type)
    if status == 405:
        response["Allow"] = "POST"
    return response
