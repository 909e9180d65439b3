"""HTTP endpoints of the Chat API, one per path, thin: parse the request, run one service
call on a worker thread (authentication included, so one thread hop per request), shape
the answer. Errors come back in the client's error shape (see errors.py)."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import live, ratelimit, services, wire, workers
from .errors import ChatApiError, InvalidPayload, MethodNotFound, PayloadTooLarge

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Botpress's limit: 413 PayloadTooLarge above it


@dataclass
class Call:
    """One request as the service functions need it."""

    webhook_id: str
    user_key: str | None
    body: dict
    query: dict
    params: dict
    api: services.Api | None = None
    process: object = None  # a conversation pk whose stored events must now be processed

    def user(self):
        return services.authenticate(self.api, self.user_key)


def _error(exc: ChatApiError) -> JsonResponse:
    response = JsonResponse(exc.body(), status=exc.status)
    if isinstance(exc, ratelimit.RateLimited):
        for name, value in ratelimit.headers(exc).items():
            response[name] = value
    return response


def _limit(request, webhook_id: str) -> None:
    key = request.headers.get("x-user-key")
    ratelimit.check(webhook_id, f"key:{key}" if key else f"ip:{request.META.get('REMOTE_ADDR', '')}")


def _parse_body(request) -> dict:
    length = request.META.get("CONTENT_LENGTH")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is {int(length)} bytes; the limit is {MAX_BODY_BYTES} (1 MB)")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(f"the request body is over the {MAX_BODY_BYTES} byte (1 MB) limit") from None
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES} (1 MB)")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPayload(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidPayload("the request body must be a JSON object")
    return body


def _in_thread(handler, call: Call):
    call.api = services.api_for_webhook(call.webhook_id)
    return handler(call)


def endpoint(**handlers):
    """An async view dispatching on the HTTP method to sync handlers `(call) -> (status, body)`."""

    @csrf_exempt
    async def view(request, webhook_id, **params):
        handler = handlers.get(request.method)
        try:
            if handler is None:
                raise MethodNotFound(f"{request.method} is not allowed here; use {', '.join(handlers)}")
            _limit(request, webhook_id)
            call = Call(webhook_id=webhook_id, user_key=request.headers.get("x-user-key"),
                        body=_parse_body(request) if request.method in ("POST", "PUT") else {},
                        query=request.GET, params=params)
            status, body = await workers.run(_in_thread, handler, call)
            if call.process is not None:
                await workers.process(call.process)
        except ChatApiError as exc:
            return _error(exc)
        except Exception:
            logger.exception("Chat API %s %s failed", request.method, request.path)
            return _error(ChatApiError("an internal error occurred; it has been logged"))
        return JsonResponse(body, status=status)

    return view


# ---- handlers (run on a worker thread) -----------------------------------------------------

def hello(call: Call):
    return 200, {}


def create_user(call: Call):
    end_user, key = services.create_user(call.api, call.body)
    return 201, {"user": services.user_json(end_user), "key": key}


def get_or_create_user(call: Call):
    end_user = services.get_or_create_user(call.api, call.user_key, call.body)
    return 201, {"user": services.user_json(end_user)}


def get_user(call: Call):
    return 200, {"user": services.user_json(call.user())}


def update_user(call: Call):
    return 200, {"user": services.user_json(services.update_user(call.user(), call.body))}


def delete_user(call: Call):
    services.delete_user(call.user())
    return 200, {}


def create_conversation(call: Call):
    conversation = services.create_conversation(call.api, call.user(), call.body.get("id"))
    return 201, {"conversation": wire.conversation(conversation)}


def get_or_create_conversation(call: Call):
    conversation = services.get_or_create_conversation(call.api, call.user(), call.body.get("id"))
    return 201, {"conversation": wire.conversation(conversation)}


def list_conversations(call: Call):
    page, token = services.list_conversations(call.api, call.user(), call.query.get("nextToken"))
    return 200, {"conversations": [wire.conversation(c) for c in page], "meta": _meta(token)}


def get_conversation(call: Call):
    conversation = services.get_conversation(call.api, call.user(), call.params["conversation_id"])
    return 200, {"conversation": wire.conversation(conversation)}


def delete_conversation(call: Call):
    services.delete_conversation(call.api, call.user(), call.params["conversation_id"])
    return 200, {}


def list_messages(call: Call):
    conversation, page, token = services.list_messages(
        call.api, call.user(), call.params["conversation_id"], call.query.get("nextToken"))
    return 200, {"messages": [services.message_json(call.api, m, conversation) for m in page], "meta": _meta(token)}


def add_participant(call: Call):
    participant = services.add_participant(call.api, call.user(), call.params["conversation_id"],
                                           call.body.get("userId"))
    return 200, {"participant": services.user_json(participant)}


def list_participants(call: Call):
    page, token = services.list_participants(call.api, call.user(), call.params["conversation_id"],
                                             call.query.get("nextToken"))
    return 200, {"participants": [services.user_json(u) for u in page], "meta": _meta(token)}


def get_participant(call: Call):
    participant = services.get_participant(call.api, call.user(), call.params["conversation_id"],
                                           call.params["user_id"])
    return 200, {"participant": services.user_json(participant)}


def remove_participant(call: Call):
    services.remove_participant(call.api, call.user(), call.params["conversation_id"], call.params["user_id"])
    return 200, {}


def create_message(call: Call):
    conversation, message = services.create_message(
        call.api, call.user_key, call.body.get("conversationId"), call.body.get("payload"), call.body.get("metadata"))
    call.process = conversation.pk
    return 201, {"message": services.message_json(call.api, message, conversation)}


def get_message(call: Call):
    message = services.get_message(call.api, call.user(), call.params["message_id"])
    return 200, {"message": services.message_json(call.api, message, message.conversation)}


def delete_message(call: Call):
    services.delete_message(call.api, call.user(), call.params["message_id"])
    return 200, {}


def create_event(call: Call):
    conversation, message = services.create_event(
        call.api, call.user_key, call.body.get("conversationId"), call.body.get("payload"))
    call.process = conversation.pk
    return 201, {"event": services.event_json(call.api, message, conversation)}


def get_event(call: Call):
    message = services.get_event(call.api, call.user(), call.params["event_id"])
    return 200, {"event": services.event_json(call.api, message, message.conversation)}


def _meta(token: str | None) -> dict:
    return {"nextToken": token} if token else {}


# ---- listen (Server-Sent Events) -----------------------------------------------------------

def _listen_check(webhook_id: str, user_key: str | None, conversation_id: str):
    api = services.api_for_webhook(webhook_id)
    return (api, *services.participation(api, user_key, conversation_id))


@csrf_exempt
async def listen(request, webhook_id, conversation_id):
    opened_at = timezone.now()
    if request.method != "GET":
        return _error(MethodNotFound(f"{request.method} is not allowed here; use GET"))
    try:
        _limit(request, webhook_id)
        api, user, conversation = await workers.run(
            _listen_check, webhook_id, request.headers.get("x-user-key"), conversation_id)
    except ChatApiError as exc:
        return _error(exc)
    body = live.stream(api, user, conversation, last_event_id=request.headers.get("Last-Event-ID"),
                       opened_at=opened_at, run_db=workers.run)
    return StreamingHttpResponse(body, content_type="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
    })
