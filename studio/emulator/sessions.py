"""The emulator: a builder tries the bot's draft beside the canvas (docs/emulator.md).

Emulator conversations are ordinary draft conversations (`is_draft=True`, channel
"emulator") run by the turn service, so they behave exactly like the published bot will.
Each studio user has their own emulator end users, named `emulator-<studio user id>-<key>`:
that is how a reload finds "my" latest emulator conversation, and why two builders trying
the same bot never share a conversation or user variables.

The websocket consumer (`studio.emulator.consumer`) is a thin shell over these functions; message
ordering and replay come from `runtime.conversation_stream`, like the webchat's.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404

from flows import services as flow_services
from flows.botfile.problems import BotFileInvalid
from runtime import conversation_stream, conversation_tests, turns, workflows
from runtime.client_messages import ClientMessageInvalid, clean_client_message
from runtime.models import BotVariable, Conversation, EndUser, Event, Message
from studio.permissions import get_bot_for

CHANNEL = "emulator"
RUN_PERMISSION = "flows.change_bot"
RESET_COMMAND = "//state/reset"
# Channel-layer message telling every emulator socket of a conversation that turns finished
# (sent by runtime.live_turns once they have).
TURNS_DONE = "emulator.turns"
MAX_TEST_NAME = 200


class EmulatorError(Exception):
    """A refusal the panel shows. `code` is stable (docs/emulator.md); a `close_code` in the
    4401/4403/4404 range closes the socket (the panel stops reconnecting)."""

    errors: list | None = None  # per-field problems ({field, message}), sent when set

    def __init__(self, code: str, message: str, close_code: int = 4400):
        super().__init__(message)
        self.code, self.message, self.close_code = code, message, close_code

    @property
    def fatal(self) -> bool:
        return self.close_code in (4401, 4403, 4404)

    def as_frame(self, seq: int = 0) -> dict:
        frame = conversation_stream.control_frame("error", seq, code=self.code, message=self.message)
        if self.fatal:
            frame["fatal"] = True
        if self.errors is not None:
            frame["errors"] = self.errors
        return frame


def authorize(studio_user, bot_id):
    """The bot if the studio user may run its draft; EmulatorError otherwise. Running writes
    the draft's bot variables, so it takes the right to change the bot, not only to see it."""
    if studio_user is None or not studio_user.is_authenticated:
        raise EmulatorError("not_authenticated", "log in to use the emulator", 4401)
    try:
        return get_bot_for(studio_user, bot_id, RUN_PERMISSION)
    except Http404:
        raise EmulatorError("bot_not_found", f"no bot with id {bot_id}", 4404) from None
    except PermissionDenied:
        raise EmulatorError("permission_denied",
                            "your role in this workspace does not allow running this bot's draft "
                            f"({RUN_PERMISSION})", 4403) from None


# --- sessions -------------------------------------------------------------------------------

@dataclass
class Session:
    bot: object
    studio_user: object
    conversation: Conversation
    is_new_conversation: bool = False

    @property
    def conversation_id(self) -> str:
        return self.conversation.external_id


def _user_prefix(studio_user) -> str:
    return f"emulator-{studio_user.pk}-"


def _mine(bot, studio_user):
    return Conversation.objects.filter(bot=bot, channel=CHANNEL, is_draft=True,
                                       user__external_id__startswith=_user_prefix(studio_user))


def open_session(studio_user, bot, conversation_id=None) -> Session:
    """The conversation the panel continues: the one it names if it is this builder's, else
    their latest emulator conversation with the bot, else a new one."""
    mine = _mine(bot, studio_user).select_related("user")
    conversation = None
    if isinstance(conversation_id, str) and conversation_id:
        conversation = mine.filter(external_id=conversation_id).first()
    if conversation is None:
        conversation = mine.order_by("-created_at", "-pk").first()
    if conversation is not None:
        return Session(bot, studio_user, conversation)
    user = turns.get_or_create_user(bot, f"{_user_prefix(studio_user)}default")
    return Session(bot, studio_user, _start(bot, user), is_new_conversation=True)


def _start(bot, user: EndUser) -> Conversation:
    return turns.start_conversation(bot, user, draft=True, channel=CHANNEL)


def new_conversation(session: Session) -> Session:
    """New conversation: history and conversation state go, the user (and their variables) stay."""
    session.conversation = _start(session.bot, session.conversation.user)
    session.is_new_conversation = True
    return session


def new_user(session: Session) -> Session:
    """Start as a new user: a fresh end user (no user variables) in a fresh conversation."""
    user = turns.get_or_create_user(session.bot, f"{_user_prefix(session.studio_user)}{uuid.uuid4().hex[:12]}")
    session.conversation = _start(session.bot, user)
    session.is_new_conversation = True
    return session


# --- what the panel sends -------------------------------------------------------------------

def post_message(session: Session, payload) -> int:
    """Store a message; returns its seq. Processing is separate (`runtime.live_turns`)."""
    try:
        kind, clean = clean_client_message(payload, client="the emulator")
    except ClientMessageInvalid as exc:
        raise EmulatorError("bad_request", str(exc)) from None
    return turns.receive_event(session.conversation, kind, clean).seq


def post_timeout(session: Session) -> int:
    """Simulate the inactivity timeout (the bot's `timeout` flow runs if a dialog is active)."""
    return turns.receive_event(session.conversation, "timeout", {}).seq


# --- what the panel shows -------------------------------------------------------------------

def event_json(event: Event, conversation: Conversation) -> dict:
    """The event as the debugger's JSON tab shows it (Botpress' event properties)."""
    return {
        "id": str(event.pk),
        "type": event.type,
        "channel": conversation.channel,
        "direction": "incoming",
        "payload": event.payload,
        "preview": turns._preview(event.payload),
        "userId": conversation.user.external_id,
        "botId": str(conversation.bot_id),
        "conversationId": conversation.external_id,
        "createdOn": event.created_at.isoformat() if event.created_at else None,
        "metadata": event.metadata,
        "seq": event.seq,
    }


def turn_view(event: Event, conversation: Conversation) -> dict:
    return {
        "eventSeq": event.seq,
        "status": event.status,
        "error": event.error,
        "durationMs": event.duration_ms,
        "event": event_json(event, conversation),
        "trace": event.trace or [],
        "logs": event.logs or [],
        "replies": list(event.messages.filter(direction=Message.Direction.OUTGOING)
                        .order_by("seq").values_list("seq", flat=True)),
    }


def turns_after(conversation: Conversation, after_event_seq: int) -> list[dict]:
    """The finished turns (processed or failed events) after an event seq, in seq order."""
    events = (Event.objects.filter(conversation_id=conversation.pk, seq__gt=after_event_seq)
              .exclude(status=Event.Status.RECEIVED).order_by("seq"))
    return [turn_view(event, conversation) for event in events]


def state_snapshot(conversation: Conversation) -> dict:
    """The state tab: where the dialog is, the call stack and every variable scope."""
    conversation = Conversation.objects.select_related("user", "bot").get(pk=conversation.pk)
    state = conversation.state or {}
    frames = state.get("frames") or []
    try:
        build = flow_services.get_build(conversation.bot, draft=True).build
        user_defaults, bot_defaults = build.user_defaults(), build.bot_defaults()
    except BotFileInvalid:
        user_defaults, bot_defaults = {}, {}
    stored_bot = BotVariable.objects.filter(bot_id=conversation.bot_id, is_draft=True)
    top = frames[-1] if frames else None
    return {
        "conversationId": conversation.external_id,
        "userId": conversation.user.external_id,
        "cursor": ({"flow": top.get("flow"), "node": top.get("node"), "card": top.get("card")} if top else None),
        "callStack": [{"flow": f.get("flow"), "node": f.get("node"), "card": f.get("card"), "call": f.get("call")}
                      for f in reversed(frames)],
        "variables": {
            "workflow": (top or {}).get("vars") or {},
            "session": state.get("session") or {},
            "conversation": state.get("conversation") or {},
            "user": {**user_defaults, **(conversation.user.variables or {})},
            "bot": {**bot_defaults, **dict(stored_bot.values_list("name", "value"))},
        },
        "timeoutAt": conversation.timeout_at.isoformat() if conversation.timeout_at else None,
    }


def ready_frame(session: Session, seq: int) -> dict:
    return conversation_stream.control_frame(
        "ready", seq,
        conversationId=session.conversation_id,
        user={"id": session.conversation.user.external_id},
        newConversation=session.is_new_conversation,
        lastSeq=conversation_stream.last_seq(session.conversation.pk),
        # The draft's running or paused background workflows with their pending form
        # (docs/workflows.md, ActiveWorkflow), as the webchat's ready frame has them.
        activeWorkflows=workflows.active_workflows(session.conversation),
    )



# --- conversation tests ---------------------------------------------------------------------

def save_as_test(studio_user, bot, *, conversation_id, name, variables=(), base_revision) -> dict:
    """Record the builder's emulator conversation as a conversation test in the draft's
    `tests` (docs/conversation-tests.md). A test of the same name is replaced. The draft
    must not have moved since `base_revision` (StaleRevision otherwise)."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_TEST_NAME:
        raise EmulatorError("bad_request", f"name: a test needs a name of 1 to {MAX_TEST_NAME} characters")
    if not isinstance(variables, (list, tuple)) or not all(isinstance(v, str) and "." in v for v in variables):
        raise EmulatorError("bad_request", 'variables: a list of names like "user.firstName"')
    conversation = _mine(bot, studio_user).filter(external_id=conversation_id).first() \
        if isinstance(conversation_id, str) else None
    if conversation is None:
        raise EmulatorError("bad_request", f"conversationId: no emulator conversation {conversation_id!r} of yours")
    steps = conversation_tests.steps_from_transcript(conversation, variables=list(variables))
    if not any("user" in step for step in steps):
        raise EmulatorError("bad_request", "the conversation has no user message yet: chat first, then save it")
    bot.refresh_from_db(fields=["draft", "layout", "draft_revision"])
    document = flow_services.draft_document(bot)
    test = {"name": name.strip(), "draft": True, "steps": steps}
    document["tests"] = [t for t in document.get("tests") or [] if t.get("name") != test["name"]] + [test]
    with transaction.atomic():
        flow_services.replace_draft(bot, document, base_revision=base_revision, user=studio_user)
    return {"revision": bot.draft_revision, "test": test, "tests": document["tests"]}
