"""The AG-UI endpoint's work on the database (sync: called on the Chat API's request threads).

An AG-UI thread is a Chat API conversation (its `threadId` is the conversation id) and the
caller is a Chat API user (its `x-user-key`), so the two APIs see the same conversations.
`prepare` checks the request and finds (or makes) the user and the conversation; `act` does
what the run asks: sends the new user message, or answers the paused workflow steps the
previous run's interrupts named; `read` gives what the conversation gained since a seq,
with what is still going on in it.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Max

from integrations.chat_api import services as chat_api
from integrations.chat_api import wire
from integrations.chat_api.errors import ChatApiError, InvalidPayload
from runtime import workflows
from runtime.models import Conversation, Event, Message, WorkflowRun

from .events import interrupt_id, parse_interrupt_id

MAX_TEXT = 32_000  # characters of one user message
RESUME_STATUSES = ("resolved", "cancelled")


@dataclass
class RunInput:
    thread_id: str
    run_id: str
    message_id: str | None  # the new user message, if the run brings one
    text: str | None
    resume: list[dict] | None


@dataclass
class Prepared:
    api: chat_api.Api
    user: object
    key: str
    conversation: Conversation
    run: RunInput
    cursor: int  # the conversation's last seq before this run


class RunRefused(Exception):
    """A protocol-level refusal, answered as the run's only event (RUN_ERROR)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


def _string(body: dict, name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidPayload(f"$.{name} must be a non-empty string")
    if len(value) > 255:
        raise InvalidPayload(f"$.{name} is over 255 characters")
    return value


def _message_text(content, where: str) -> str:
    """A user message's content: a string, or AG-UI input parts of which the text ones count."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for i, part in enumerate(content):
            if not isinstance(part, dict):
                raise InvalidPayload(f"{where}[{i}] must be an object")
            if part.get("type") == "text":
                if not isinstance(part.get("text"), str):
                    raise InvalidPayload(f"{where}[{i}].text must be a string")
                texts.append(part["text"])
        return "\n".join(texts)
    raise InvalidPayload(f"{where} must be a string or a list of content parts")


def check_input(body: dict) -> RunInput:
    """The RunAgentInput fields Flowstudio uses (`state`, `tools`, `context` and
    `forwardedProps` are accepted and ignored); InvalidPayload names the field."""
    thread_id = wire.check_id(_string(body, "threadId"), "$.threadId")
    run_id = _string(body, "runId")
    messages = body.get("messages", [])
    if not isinstance(messages, list):
        raise InvalidPayload("$.messages must be a list")
    resume = body.get("resume")
    if resume is not None:
        if not isinstance(resume, list) or not resume:
            raise InvalidPayload("$.resume must be a non-empty list of {interruptId, status, payload}")
        for i, entry in enumerate(resume):
            if not isinstance(entry, dict) or not isinstance(entry.get("interruptId"), str):
                raise InvalidPayload(f"$.resume[{i}].interruptId must be a string")
            if entry.get("status") not in RESUME_STATUSES:
                raise InvalidPayload(f"$.resume[{i}].status must be 'resolved' or 'cancelled'")
        return RunInput(thread_id, run_id, None, None, resume)
    last = messages[-1] if messages else None
    if not isinstance(last, dict) or last.get("role") != "user":
        return RunInput(thread_id, run_id, None, None, None)  # nothing new: follow the thread
    where = f"$.messages[{len(messages) - 1}]"
    message_id = last.get("id")
    if not isinstance(message_id, str) or not message_id or len(message_id) > 255:
        raise InvalidPayload(f"{where}.id must be a non-empty string of at most 255 characters")
    text = _message_text(last.get("content"), f"{where}.content")
    if not text.strip():
        raise InvalidPayload(f"{where}.content has no text")
    if len(text) > MAX_TEXT:
        raise InvalidPayload(f"{where}.content is over {MAX_TEXT} characters")
    return RunInput(thread_id, run_id, message_id, text, None)


def prepare(webhook_id: str, key: str | None, body: dict) -> Prepared:
    api = chat_api.api_for_webhook(webhook_id)
    run = check_input(body)
    user = chat_api.get_or_create_user(api, key, {})
    conversation = chat_api.get_or_create_conversation(api, user, run.thread_id)
    cursor = Message.objects.filter(conversation=conversation).aggregate(m=Max("seq"))["m"] or 0
    return Prepared(api, user, key, conversation, run, cursor)


def _paused(conversation: Conversation) -> list[dict]:
    return [a for a in workflows.active_workflows(conversation) if "intervention" in a]


def act(prepared: Prepared) -> list[tuple[str, str]]:
    """Do what the run asks. Returns the (workflowId, stepId) steps a resume set going again;
    RunRefused when the run breaks AG-UI's interrupt rules or a payload does not fit."""
    conversation, run = prepared.conversation, prepared.run
    paused = {interrupt_id(p["workflowId"], p["intervention"]["stepId"]): p for p in _paused(conversation)}
    if run.resume is None:
        if paused:
            raise RunRefused(f"the thread has pending interrupts ({', '.join(paused)}); "
                             "a run on it must resume them", "INTERRUPT_PENDING")
        if run.text is not None and not Message.objects.filter(
                conversation=conversation, direction=Message.Direction.INCOMING,
                metadata__aguiMessageId=run.message_id).exists():
            # A run sent again with the same last message (a retry, or following the thread
            # on) does not say it twice.
            chat_api.create_message(prepared.api, prepared.key, conversation.external_id,
                                    {"type": "text", "text": run.text}, {"aguiMessageId": run.message_id})
        return []
    given = [entry["interruptId"] for entry in run.resume]
    unknown = [i for i in given if i not in paused]
    if unknown:
        raise RunRefused(f"no pending interrupt {', '.join(unknown)} on this thread", "INTERRUPT_UNKNOWN")
    missing = [i for i in paused if i not in given]
    if missing:
        raise RunRefused(f"the resume does not address the pending interrupts {', '.join(missing)}",
                         "INTERRUPT_NOT_ADDRESSED")
    resumed = []
    for i, entry in enumerate(run.resume):
        workflow_id, step_id = parse_interrupt_id(entry["interruptId"])
        if entry["status"] == "cancelled":
            workflows.cancel(WorkflowRun.objects.get(pk=workflow_id, conversation=conversation))
            continue
        payload = entry.get("payload")
        if not isinstance(payload, dict):
            raise RunRefused(f"$.resume[{i}].payload must be an object: the data the interrupt's "
                             "responseSchema describes", "INVALID_PAYLOAD")
        try:
            chat_api.resume_workflow(prepared.api, prepared.user, conversation.external_id, workflow_id, step_id,
                                     payload)
        except ChatApiError as exc:
            raise RunRefused(f"$.resume[{i}].payload: {exc.message}", "INVALID_PAYLOAD") from None
        resumed.append((workflow_id, step_id))
    return resumed


def _run_ids(values) -> list[uuid.UUID]:
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            pass  # no run can have it: it stays awaited until the run ends on time
    return ids


def read(conversation: Conversation, after_seq: int, awaited: set[str]) -> dict:
    """What the conversation gained after `after_seq`, and whether anything is still going
    on: events not yet processed, workflows running, Start Workflow cards whose run does not
    exist yet. The state is read before the entries, so the entries are at least as new."""
    active = workflows.active_workflows(conversation)
    busy = Event.objects.filter(conversation=conversation, status=Event.Status.RECEIVED).exists()
    started = {str(pk) for pk in WorkflowRun.objects.filter(pk__in=_run_ids(awaited)).values_list("pk", flat=True)}
    entries = [{"id": str(m.pk), "seq": m.seq, "outgoing": m.direction == Message.Direction.OUTGOING,
                "type": m.type, "payload": m.payload or {}, "turn": m.event_id}
               for m in Message.objects.filter(conversation=conversation, seq__gt=after_seq).order_by("seq")[:500]]
    return {"entries": entries, "cursor": entries[-1]["seq"] if entries else after_seq,
            "more": len(entries) == 500, "busy": busy, "started": started,
            "running": [a for a in active if a["status"] == "running"],
            "paused": [a for a in active if "intervention" in a]}
