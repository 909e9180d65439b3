"""The inbound webhook of every channel: `/integrations/<kind>/<bot>/<secret id>/`.

Checked in this order, each refusal a 4xx with the reason in words and nothing stored:
the channel exists (404), is enabled (403), its stored config is readable (409), the body
is at most 1 MB (413), the request carries the channel's signature (401), the bot has a
published version (409), the body is an update of that channel (400). Then the updates are
stored (a redelivered one once) and the answer is 200 at once; the turn runs after
(services.receive).

`handle` is the whole of it. Servers reach it through the ASGI front (asgi.py, ahead of
Django's middleware); the Django view below serves the same URL to Django's test client
and to `reverse()`.
"""
from __future__ import annotations

import json
import logging

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import kinds, services
from .kinds import Refused

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


def handle(request, kind: str, bot_id, secret_id: str, body: bytes) -> tuple[int, bytes]:
    """(status, JSON body or b"") for one inbound request."""
    try:
        channel = services.find_inbound_channel(kind, bot_id, secret_id)
        config = services.config_of(channel)
        if len(body) > MAX_BODY_BYTES:
            raise Refused(413, f"the update is larger than {MAX_BODY_BYTES} bytes")
        channel_kind = kinds.get(kind)
        channel_kind.verify(config, request, body)
        answer = channel_kind.handshake(config, request, body)
        if answer is not None:
            return 200, json.dumps(answer).encode()
        services.check_published(channel)
        services.receive(channel, channel_kind.parse(config, request, body))
    except Refused as exc:
        logger.info("%s update refused (%s): %s", kind, exc.status, exc.reason)
        return exc.status, json.dumps({"error": exc.reason}).encode()
    return 200, b""


@csrf_exempt
@require_POST
def inbound(request, kind, bot_id, secret_id):
    status, content = handle(request, kind, bot_id, secret_id, request.body)
    return HttpResponse(content, status=status, content_type="application/json")
