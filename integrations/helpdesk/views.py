"""The help desk's webhook: `/helpdesk/<kind>/<bot>/<secret id>/` (Chatwoot's agent bot
webhook, or an account or API inbox webhook, pointed here). Refusals are 4xx with
`{"error": ...}` and store nothing (services.receive_webhook says in which order); otherwise
200 with `{"result": ...}` saying what was done."""
from __future__ import annotations

import json
import logging

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook(request, kind, bot_id, secret_id):
    try:
        result = services.receive_webhook(kind, bot_id, secret_id, request.headers, request.body)
    except services.Refused as exc:
        logger.info("help desk webhook refused (%s): %s", exc.status, exc.reason)
        return HttpResponse(json.dumps({"error": exc.reason}), status=exc.status, content_type="application/json")
    return HttpResponse(json.dumps({"result": result}), content_type="application/json")
