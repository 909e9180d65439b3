"""The URL of every webhook trigger: `POST /triggers/<bot id>/<flow>/<node>/`.

Thin: runtime/triggers.py checks and stores (docs/hooks-and-triggers.md lists each refusal).
The answer is 202 with the conversation id once the event is stored; the turn runs after.
"""
from __future__ import annotations

import json
import logging

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from runtime import triggers

logger = logging.getLogger(__name__)


def _answer(status: int, body: dict) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


@csrf_exempt
@require_POST
def webhook(request, bot_id, flow, node):
    declared = request.META.get("CONTENT_LENGTH") or ""
    declared_length = int(declared) if declared.isdigit() else None
    try:
        if declared_length is not None and declared_length > triggers.MAX_BODY_BYTES:
            # Refused before the body is read: a sender cannot make the server buffer it.
            raise triggers.WebhookRefused(413, f"the body is larger than the {triggers.MAX_BODY_BYTES} byte limit")
        accepted = triggers.receive_webhook(
            bot_id, flow, node, headers=request.headers, body=request.body, declared_length=declared_length,
            conversation_id=request.GET.get("conversationId"), user_id=request.GET.get("userId"))
    except triggers.WebhookRefused as exc:
        logger.info("webhook trigger %s/%s of bot %s refused (%s): %s", flow, node, bot_id, exc.status, exc.reason)
        return _answer(exc.status, {"error": exc.reason})
    return _answer(202, {"conversationId": accepted.conversation.external_id, "eventId": accepted.event_id})
