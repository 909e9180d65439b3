"""The inbound webhook of every channel: `/integrations/<kind>/<bot>/<secret id>/`.

Checked in this order, each refusal a 4xx with the reason in words and nothing stored:
the channel exists (404), is enabled (403), its stored config is readable (409), the
request carries the channel's signature (401), the bot has a published version (409), the
body is an update of that channel (400). Then the updates are stored (a redelivered one
once) and the answer is 200 at once; the turn runs after (services.receive).
"""
from __future__ import annotations

import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import kinds, services
from .kinds import Refused

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


@csrf_exempt
@require_POST
def inbound(request, kind, bot_id, secret_id):
    try:
        channel = services.find_inbound_channel(kind, bot_id, secret_id)
        config = services.config_of(channel)
        channel_kind = kinds.get(kind)
        body = request.body
        if len(body) > MAX_BODY_BYTES:
            raise Refused(413, f"the update is larger than {MAX_BODY_BYTES} bytes")
        channel_kind.verify(config, request, body)
        answer = channel_kind.handshake(config, request, body)
        if answer is not None:
            return answer
        services.check_published(channel)
        updates = channel_kind.parse(config, request, body)
        services.receive(channel, updates)
    except Refused as exc:
        logger.info("%s update refused (%s): %s", kind, exc.status, exc.reason)
        return JsonResponse({"error": exc.reason}, status=exc.status)
    return HttpResponse(status=200)
