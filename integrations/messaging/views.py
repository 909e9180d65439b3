"""The inbound webhook of every channel: `/integrations/<kind>/<bot>/<secret id>/`.

Checked in this order, each refusal a 4xx with the reason in words and nothing stored:
the channel exists (404), is enabled (403), its stored config is readable (409), the body
is at most 1 MB (413), the request carries the channel's signature (401), the bot has a
published version (409), the body is an update of that channel (400). Then the updates are
stored (a redelivered one once) and the answer is 200 at once; the turn runs after
(services.receive).

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

from . import kinds, services
from .kinds import Refused

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


JSON = "application/json"


def handle(request, kind: str, bot_id, secret_id: str, body: bytes) -> tuple[int, bytes, str]:
    """(status, body, content type) for one inbound request: a JSON refusal, the kind's
    acknowledgement, or its handshake's JSON answer."""
    try:
        channel = services.find_inbound_channel(kind, bot_id, secret_id)
        config = services.config_of(channel)
        if len(body) > MAX_BODY_BYTES:
            raise Refused(413, f"the update is larger than {MAX_BODY_BYTES} bytes")
        channel_kind = kinds.get(kind)
        # Twilio signs the URL it was given; behind a proxy only PUBLIC_URL knows it.
        request.webhook_url = services.webhook_url(channel)
        channel_kind.verify(config, request, body)
        answer = channel_kind.handshake(config, request, body)
        if answer is not None:
            return 200, json.dumps(answer).encode(), JSON
        services.check_published(channel)
        services.receive(channel, channel_kind.parse(config, request, body))
    except Refused as exc:
        logger.info("%s update refused (%s): %s", kind, exc.status, exc.reason)
        return exc.status, json.dumps({"error": exc.reason}).encode(), JSON
    content_type, content = channel_kind.acknowledgement
    return 200, content, content_type


def handle_get(kind: str, bot_id, secret_id: str, params) -> tuple[int, bytes, str]:
    """A GET on the webhook URL: the kind's verification handshake (`params` has `.get`)."""
    try:
        channel = services.find_inbound_channel(kind, bot_id, secret_id)
        config = services.config_of(channel)
        content_type, content = kinds.get(kind).challenge(config, params)
    except Refused as exc:
        logger.info("%s verification refused (%s): %s", kind, exc.status, exc.reason)
        return exc.status, json.dumps({"error": exc.reason}).encode(), JSON
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
