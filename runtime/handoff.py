"""Human handoff: the business operations behind the Escalate to a Human card and the Inbox
(docs/handoff.md).

A conversation's `handoff_status` says who answers it:

    bot --(Escalate card / escalate())--> waiting --(assign)--> with_agent
    waiting | with_agent --(hand_back)--> bot      (the dialog goes on after the Escalate card)
    waiting | with_agent --(end)--------> ended    (the dialog ends as at an end node)

While `waiting` or `with_agent` the turn service stores the user's events but does not run
the bot (`turns.skip_for_handoff`). Handing back and ending send the `hitlStopped` event
(payload `{"reason": "returned" | "ended"}`) and process it at once, so the bot speaks again
right away. Every change takes the conversation's turn lock and moves `updated_at`, so it
never interleaves with a running turn (a turn that read the old row writes nothing and runs
again: runtime/async_turns.py).

An agent's reply is a transcript row like a bot message (outgoing, type `text`) with
`metadata.agent = {"id", "name", "avatarUrl"}`; it is delivered through the conversation's
own channel as any bot message is (runtime.delivery).

Who may call these is the caller's business (the studio asks the permission layer for
`studio.handle_conversations`); these functions check only the conversation's state.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from flows import untrusted_json
from runtime import delivery, tasks, turns
from runtime.engine import HANDOFF_PRIORITIES as PRIORITIES
from runtime.engine import HITL_STOPPED
from runtime.models import Conversation, Message

Handoff = Conversation.Handoff
ACTIVE = (Handoff.WAITING, Handoff.WITH_AGENT)
AGENT_MESSAGE_MAX_CHARS = 4000
# How many messages a conversation view shows (the newest ones).
TRANSCRIPT_LIMIT = 300


class HandoffError(Exception):
    """An operation that does not fit the conversation's handoff state; the message says why
    in words an agent understands (shown on the page)."""


# --- reading -------------------------------------------------------------------------------

def inbox(bot_ids, *, status: str | None = None):
    """The conversations people handle among these bots: waiting ones first, then by priority
    (urgent first) and the longest waiting first."""
    statuses = [status] if status in ACTIVE else list(ACTIVE)
    rank = Case(*(When(handoff_priority=p, then=Value(i)) for i, p in enumerate(reversed(PRIORITIES))),
                default=Value(len(PRIORITIES)), output_field=IntegerField())
    waiting_first = Case(When(handoff_status=Handoff.WAITING, then=Value(0)), default=Value(1),
                         output_field=IntegerField())
    return (Conversation.objects.filter(bot_id__in=list(bot_ids), handoff_status__in=statuses)
            .select_related("bot", "user", "handoff_agent")
            .order_by(waiting_first, rank, "handoff_requested_at", "pk"))


def find(bot_ids, conversation_id) -> Conversation | None:
    """The conversation by id if it belongs to one of these bots (else None)."""
    try:
        pk = int(conversation_id)
    except (TypeError, ValueError):
        return None
    return (Conversation.objects.filter(pk=pk, bot_id__in=list(bot_ids))
            .select_related("bot", "user", "handoff_agent").first())


def transcript(conversation: Conversation) -> list[Message]:
    """The conversation's newest messages (custom events left out), oldest first."""
    rows = (Message.objects.filter(conversation_id=conversation.pk).exclude(type="event")
            .order_by("-seq")[:TRANSCRIPT_LIMIT])
    return list(reversed(rows))


def is_agent_message(message: Message) -> bool:
    return (message.direction == Message.Direction.OUTGOING and isinstance(message.metadata, dict)
            and isinstance(message.metadata.get("agent"), dict))


# --- changing ------------------------------------------------------------------------------

def _locked(conversation: Conversation) -> Conversation:
    """Inside `turns.turn_transaction`: the conversation row as it is now, row-locked."""
    return Conversation.objects.select_for_update(of=("self",)).get(pk=conversation.pk)


def _save(conversation: Conversation, **changes) -> None:
    changes["updated_at"] = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(**changes)
    for name, value in changes.items():
        setattr(conversation, name, value)


def escalate(conversation: Conversation, *, reason: str = "", priority: str = "normal") -> Conversation:
    """Put a conversation the bot is answering into the Inbox queue (the Escalate card does
    the same inside its turn). Escalating one already waiting or with an agent is refused."""
    if priority not in PRIORITIES:
        raise HandoffError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
    with turns.turn_transaction(conversation.pk):
        current = _locked(conversation)
        if current.handoff_status in ACTIVE:
            raise HandoffError("this conversation is already handed to people")
        _save(conversation, handoff_status=Handoff.WAITING, handoff_reason=str(reason)[:2000],
              handoff_priority=priority, handoff_requested_at=timezone.now(), handoff_agent=None,
              handoff_assigned_at=None, handoff_ended_at=None, timeout_at=None)
    return conversation


def assign(conversation: Conversation, agent, *, reassign: bool = False) -> Conversation:
    """Give the conversation to `agent` (claim it: assign to oneself). Only a waiting
    conversation can be taken, so two agents taking it at once get it once: the second is
    refused with the first one's name. `reassign=True` moves a conversation already with an
    agent to another one (assign to a member)."""
    with turns.turn_transaction(conversation.pk):
        current = _locked(conversation)
        allowed = (Handoff.WAITING, Handoff.WITH_AGENT) if reassign else (Handoff.WAITING,)
        if current.handoff_status not in allowed:
            if current.handoff_status == Handoff.WITH_AGENT:
                if current.handoff_agent_id == agent.pk:
                    return current
                raise HandoffError(f"{_name(current.handoff_agent)} already took this conversation")
            raise HandoffError("this conversation is not waiting for an agent")
        _save(conversation, handoff_status=Handoff.WITH_AGENT, handoff_agent=agent,
              handoff_assigned_at=timezone.now())
    return conversation


def send_agent_message(conversation: Conversation, agent, text: str, *, name: str = "",
                       avatar_url: str = "") -> Message:
    """The assigned agent's reply: stored as an outgoing text message of the conversation
    and delivered through its channel like a bot message."""
    _check_text(text)
    with transaction.atomic():
        current = _locked(conversation)
        if current.handoff_status != Handoff.WITH_AGENT or current.handoff_agent_id != agent.pk:
            raise HandoffError("take the conversation before you reply")
        now = timezone.now()
        seq = turns._allocate_seqs(conversation.pk, 1)
        message = Message.objects.create(
            conversation_id=conversation.pk, seq=seq, direction=Message.Direction.OUTGOING, type="text",
            payload={"text": text}, created_at=now,
            metadata={"agent": {"id": str(agent.pk), "name": name or _name(agent), "avatarUrl": avatar_url or None}})
        transaction.on_commit(lambda: delivery.publish(current, [message]))
    return message


def send_desk_message(conversation: Conversation, text: str, *, desk: str, agent_id: str, name: str,
                      avatar_url: str = "") -> Message:
    """A reply written in an external help desk (integrations/helpdesk) by one of its agents,
    who is no member of the workspace: stored and delivered like `send_agent_message`, with
    `metadata.agent.desk` naming the desk. Refused when the conversation is not with people
    or a studio member took it (then that member answers). The first desk reply moves a
    waiting conversation to `with_agent`."""
    _check_text(text)
    with transaction.atomic():
        current = _locked(conversation)
        if current.handoff_status not in ACTIVE:
            raise HandoffError("this conversation is not with people any more")
        if current.handoff_agent_id is not None:
            raise HandoffError(f"{_name(current.handoff_agent)} took this conversation in the studio")
        now = timezone.now()
        if current.handoff_status == Handoff.WAITING:
            _save(conversation, handoff_status=Handoff.WITH_AGENT, handoff_assigned_at=now)
        seq = turns._allocate_seqs(conversation.pk, 1)
        message = Message.objects.create(
            conversation_id=conversation.pk, seq=seq, direction=Message.Direction.OUTGOING, type="text",
            payload={"text": text}, created_at=now,
            metadata={"agent": {"id": f"{desk}:{agent_id}", "name": name or "Agent", "avatarUrl": avatar_url or None,
                                "desk": desk}})
        transaction.on_commit(lambda: delivery.publish(current, [message]))
    return message


def _check_text(text) -> None:
    if not isinstance(text, str) or not text.strip():
        raise HandoffError("the message is empty")
    if len(text) > AGENT_MESSAGE_MAX_CHARS:
        raise HandoffError(f"the message is longer than {AGENT_MESSAGE_MAX_CHARS} characters")
    try:  # a pasted NUL would be a database error, not a message
        untrusted_json.check(text)
    except untrusted_json.UntrustedJSON as exc:
        raise HandoffError(f"the message cannot be sent: {exc.message}") from None


def hand_back(conversation: Conversation, agent=None) -> list:
    """Return the conversation to the bot: the dialog goes on after the Escalate card.
    Returns the outcomes of processing `hitlStopped` (the bot's answer)."""
    return _stop(conversation, Handoff.BOT, "returned")


def end(conversation: Conversation, agent=None) -> list:
    """End the conversation: the dialog ends as at an end node (the bot's `conversation_end`
    flow runs when it has one). A later message from the user starts a new dialog."""
    return _stop(conversation, Handoff.ENDED, "ended")


def _stop(conversation: Conversation, status: str, reason: str) -> list:
    with turns.turn_transaction(conversation.pk):
        current = _locked(conversation)
        if current.handoff_status not in ACTIVE:
            raise HandoffError("this conversation is not with people any more")
        _save(conversation, handoff_status=status, handoff_ended_at=timezone.now())
        turns.receive_event(current, HITL_STOPPED, {"reason": reason})
        # For those who follow the handoff elsewhere (an external help desk closes its side).
        transaction.on_commit(lambda: delivery.publish_signal(current, {"type": "handoff", "status": status}))
    # After the commit, as a channel does after it acknowledged an event.
    return tasks.process_pending(conversation.pk)


def _name(user) -> str:
    if user is None:
        return "Someone"
    return user.get_full_name() or getattr(user, "email", "") or user.get_username()
