"""The Chat API's operations, one function per path and method, thin: each takes the parsed
request (`Call`), runs one service call and returns (status, body). The HTTP front
(asgi.py) routes to them and runs them on a request thread, authentication included, so one
thread hop per request; sending messages and events has its own path on the loop there.
Errors are raised as the exceptions of errors.py.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import services, wire


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


def in_thread(handler, call: Call):
    call.api = services.api_for_webhook(call.webhook_id)
    return handler(call)


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


def cancel_conversation(call: Call):
    services.cancel_answer(call.api, call.user(), call.params["conversation_id"])
    return 202, {"conversationId": call.params["conversation_id"], "cancelled": True}


def list_messages(call: Call):
    conversation, page, token = services.list_messages(
        call.api, call.user(), call.params["conversation_id"], call.query.get("nextToken"))
    return 200, {"messages": [services.message_json(call.api.bot_id, m, conversation) for m in page],
                 "meta": _meta(token)}


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
    return 201, {"message": services.message_json(call.api.bot_id, message, conversation)}


def get_message(call: Call):
    message = services.get_message(call.api, call.user(), call.params["message_id"])
    return 200, {"message": services.message_json(call.api.bot_id, message, message.conversation)}


def delete_message(call: Call):
    services.delete_message(call.api, call.user(), call.params["message_id"])
    return 200, {}


def create_event(call: Call):
    conversation, message = services.create_event(
        call.api, call.user_key, call.body.get("conversationId"), call.body.get("payload"))
    call.process = conversation.pk
    return 201, {"event": services.event_json(call.api.bot_id, message, conversation)}


def get_event(call: Call):
    message = services.get_event(call.api, call.user(), call.params["event_id"])
    return 200, {"event": services.event_json(call.api.bot_id, message, message.conversation)}


def resume_workflow(call: Call):
    run = services.resume_workflow(call.api, call.user(), call.body.get("conversationId"), call.body.get("workflowId"),
                                   call.body.get("stepId"), call.body.get("values"))
    run.refresh_from_db()
    return 202, {"workflowId": str(run.pk), "status": run.status}


def _meta(token: str | None) -> dict:
    return {"nextToken": token} if token else {}


def listen_check(webhook_id: str, user_key: str | None, conversation_id: str):
    """Before a `listen` stream opens: (api, user, conversation), or the error to answer."""
    api = services.api_for_webhook(webhook_id)
    return (api, *services.participation(api, user_key, conversation_id))
