"""The external help desk of a bot (docs/handoff.md, "An external desk: Chatwoot"): its
settings, the forwarding of a handed-off conversation to the desk, and the desk's webhooks
coming back.

Forwarding. `runtime.delivery` tells `on_messages` which messages a conversation gained
(after the commit); when the conversation is with people it queues `tasks.forward` for it
(nothing else: it may run on a server's loop). The task, one at a time per conversation (a
session lock), makes the desk's contact and a `pending` conversation for a new handoff,
copies the transcript after `forwarded_seq` (the user's messages as incoming messages, the
bot's as private notes: the user has seen them already), then toggles the conversation
`open`: the handoff. Later user messages are copied the same way. Every call goes through
the outbound guard; a desk that cannot answer now makes the task retry (Celery's backoff),
one that refuses is recorded on the desk (`last_error`, shown on the dashboard).

Coming back (`receive_webhook`): an agent's public reply (`message_created`, outgoing, sent
by a user) becomes an agent message of the conversation, delivered through its own channel
(`runtime.handoff.send_desk_message`); the conversation resolved hands it back to the bot
(`runtime.handoff.hand_back`, on a worker). Each is applied once per key (`DeskWebhook`).
"""
from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.urls import reverse
from django.utils import timezone
from pydantic import ValidationError

from flows import untrusted_json
from flows.models import Bot
from runtime import handoff, session_locks
from runtime.models import Conversation, Message

from . import chatwoot
from .models import Desk, DeskConversation, DeskWebhook

logger = logging.getLogger(__name__)

KIND = "chatwoot"
LABEL = "Chatwoot"
MAX_BODY_BYTES = 1024 * 1024
_LOCK_NAME = b"helpdesk.forward"
# A help desk message is at most this long (Chatwoot's own limit is larger).
MAX_CONTENT_CHARS = handoff.AGENT_MESSAGE_MAX_CHARS


class DeskError(Exception):
    """A change or a test the studio shows to the builder, in words."""


class Refused(Exception):
    """An inbound webhook not taken: `status` and the reason (nothing is stored)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


# --- settings ------------------------------------------------------------------------------

def desk_of(bot: Bot) -> Desk | None:
    return Desk.objects.filter(bot=bot).first()


def webhook_url(desk: Desk) -> str:
    return settings.PUBLIC_URL.rstrip("/") + reverse("helpdesk:webhook", args=[desk.kind, desk.bot_id, desk.secret_id])


def config_of(desk: Desk) -> chatwoot.Config:
    """The desk's config with its secrets; DeskError when what is stored cannot be read."""
    try:
        return chatwoot.Config.model_validate({"base_url": desk.base_url, "account_id": desk.account_id,
                                               "inbox_id": desk.inbox_id, **desk.secrets})
    except ValidationError as exc:
        raise DeskError(f"the Chatwoot desk is misconfigured: {_problems(exc)}; save it again") from None
    except Exception as exc:  # a secret the configured keys cannot decrypt
        raise DeskError(f"the Chatwoot desk's secrets cannot be read ({type(exc).__name__}); paste them again") from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors())


def configure(bot: Bot, values: dict, *, enabled: bool | None = None) -> Desk:
    """Connect the bot's desk or change it. Secret fields left empty keep their stored value
    (the studio never shows them back). The base URL must be one the outbound guard lets the
    server reach."""
    desk = desk_of(bot) or Desk(bot=bot, kind=KIND)
    secret_fields = chatwoot.Config.secret_fields()
    merged = {"base_url": desk.base_url, "account_id": desk.account_id, "inbox_id": desk.inbox_id,
              **(desk.secrets if desk.pk else {})}
    for name, value in values.items():
        if name not in chatwoot.Config.model_fields:
            raise DeskError(f"Chatwoot: unknown field {name!r}")
        if name in secret_fields and not value:
            continue
        merged[name] = value
    merged = {k: v for k, v in merged.items() if v not in (None, "")}
    try:
        untrusted_json.check(merged)
        config = chatwoot.Config.model_validate(merged)
    except untrusted_json.UntrustedJSON as exc:
        raise DeskError(f"Chatwoot: {exc}") from None
    except ValidationError as exc:
        raise DeskError(f"Chatwoot: {_problems(exc)}") from None
    try:
        from runtime import outbound

        outbound.validate_url(config.base_url)
    except outbound.OutboundRefused as exc:
        raise DeskError(f"Chatwoot URL: {exc}") from None
    desk.base_url, desk.account_id, desk.inbox_id = config.base_url, config.account_id, config.inbox_id
    desk.secrets = {name: getattr(config, name) for name in sorted(secret_fields)}
    if enabled is not None:
        desk.enabled = enabled
    desk.save()
    return desk


def set_enabled(bot: Bot, enabled: bool) -> Desk:
    desk = _existing(bot)
    desk.enabled = enabled
    desk.save(update_fields=["enabled", "updated_at"])
    return desk


def remove(bot: Bot) -> None:
    _existing(bot).delete()


def _existing(bot: Bot) -> Desk:
    desk = desk_of(bot)
    if desk is None:
        raise DeskError("this bot has no help desk connected")
    return desk


def test_connection(bot: Bot) -> tuple[bool, str]:
    """One harmless call with the saved credentials (the inbox); changes nothing."""
    try:
        return True, chatwoot.check(config_of(_existing(bot)))
    except DeskError as exc:
        return False, str(exc)
    except (chatwoot.Rejected, chatwoot.Unavailable) as exc:
        return False, str(exc)


def summary(desk: Desk | None) -> dict | None:
    """What the dashboard shows: never a secret's value, only whether it is set."""
    if desk is None:
        return None
    try:
        secrets_set = sorted(name for name, value in desk.secrets.items() if value)
    except Exception:
        secrets_set = []
    return {"kind": desk.kind, "enabled": desk.enabled, "webhookUrl": webhook_url(desk),
            "settings": {"base_url": desk.base_url, "account_id": desk.account_id, "inbox_id": desk.inbox_id},
            "secretsSet": secrets_set, "conversations": desk.conversations.count(),
            "lastError": desk.last_error, "lastErrorAt": desk.last_error_at}


# --- forwarding ----------------------------------------------------------------------------

def on_messages(conversation, messages: list) -> None:
    """`runtime.delivery` subscriber. Right after a commit, maybe on a server's loop: it
    reads no database and only queues the forwarding of a conversation with people."""
    if conversation.handoff_status not in handoff.ACTIVE:
        return
    from . import tasks

    tasks.schedule_forward(conversation.pk)


def on_signal(conversation, signal: dict) -> None:
    """`runtime.delivery` signal subscriber: a handoff that ended queues `tasks.close`."""
    if signal.get("type") == "handoff" and signal.get("status") not in handoff.ACTIVE:
        from . import tasks

        tasks.schedule_close(conversation.pk)


def close(conversation_pk) -> bool:
    """The conversation went back to the bot (or ended) while its desk conversation is still
    open — handed back in the studio's Inbox: resolve it in the desk too. Nothing when the
    desk resolved it itself (the webhook marked it closed)."""
    link = DeskConversation.objects.select_related("desk", "conversation").filter(
        conversation_id=conversation_pk, closed_at__isnull=True, remote_id__isnull=False).first()
    if link is None or link.conversation.handoff_status in handoff.ACTIVE or not link.desk.enabled:
        return False
    try:
        chatwoot.set_status(config_of(link.desk), link.remote_id, "resolved")
    except (DeskError, chatwoot.Rejected) as exc:
        _record(link.desk, f"conversation {link.remote_id} not resolved: {exc}")
        return False
    DeskConversation.objects.filter(pk=link.pk).update(closed_at=timezone.now())
    return True


def forward(conversation_pk) -> int:
    """Bring the desk's conversation up to date with ours; returns how many messages were
    posted. chatwoot.Unavailable when the desk must be tried again later."""
    conversation = Conversation.objects.select_related("user").filter(pk=conversation_pk).first()
    if conversation is None or conversation.handoff_status not in handoff.ACTIVE:
        return 0
    desk = Desk.objects.filter(bot_id=conversation.bot_id, enabled=True).first()
    if desk is None:
        return 0
    try:
        config = config_of(desk)
    except DeskError as exc:
        _record(desk, str(exc))
        return 0
    with session_locks.session_lock(_LOCK_NAME, conversation.pk):
        conversation.refresh_from_db()
        if conversation.handoff_status not in handoff.ACTIVE:
            return 0
        try:
            link = _link_for_handoff(desk, config, conversation)
            posted = _copy_transcript(desk, config, link)
            if not link.opened:
                chatwoot.set_status(config, link.remote_id, "open")  # pending → open: the handoff
                DeskConversation.objects.filter(pk=link.pk).update(opened=True)
        except chatwoot.Rejected as exc:
            _record(desk, str(exc))
            return 0
    if desk.last_error:
        Desk.objects.filter(pk=desk.pk).update(last_error="", last_error_at=None)
    return posted


def _link_for_handoff(desk: Desk, config, conversation: Conversation) -> DeskConversation:
    """The desk conversation of the conversation's current handoff, opened (pending) when it
    has none yet: the first handoff, or a new one after the last was handed back."""
    link = DeskConversation.objects.filter(conversation=conversation).first()
    if link is not None and link.desk_id == desk.pk and link.remote_id \
            and link.escalated_at == conversation.handoff_requested_at:
        return link
    if link is None or link.desk_id != desk.pk:
        user = conversation.user
        identifier = f"flowstudio:{conversation.bot_id}:{user.external_id or user.pk}"
        contact_id, source_id = chatwoot.contact(config, identifier=identifier[:255],
                                                 name=str(user.name or user.external_id or f"User {user.pk}")[:255])
        if link is None:
            link = DeskConversation(desk=desk, conversation=conversation)
        link.desk, link.contact_id, link.source_id = desk, contact_id, source_id
    remote_id = chatwoot.open_conversation(config, contact_id=link.contact_id, source_id=link.source_id, attributes={
        "flowstudio_conversation": str(conversation.pk), "flowstudio_channel": conversation.channel,
        "flowstudio_reason": conversation.handoff_reason, "flowstudio_priority": conversation.handoff_priority})
    link.remote_id, link.escalated_at, link.opened, link.closed_at = remote_id, conversation.handoff_requested_at, False, None
    link.save()
    note = "Handed over by the bot" + (f": {conversation.handoff_reason}" if conversation.handoff_reason else "") \
        + f" (priority {conversation.handoff_priority})"
    chatwoot.post_message(config, remote_id, note[:MAX_CONTENT_CHARS], incoming=False, private=True)
    return link


def _copy_transcript(desk: Desk, config, link: DeskConversation) -> int:
    """The transcript rows after `forwarded_seq` (at most the newest TRANSCRIPT_LIMIT), each
    posted once: the cursor moves after each."""
    rows = (Message.objects.filter(conversation_id=link.conversation_id, seq__gt=link.forwarded_seq)
            .exclude(type="event").order_by("-seq")[:handoff.TRANSCRIPT_LIMIT])
    posted = 0
    for message in reversed(list(rows)):
        content = _content(message, desk)
        if content:
            incoming = message.direction == Message.Direction.INCOMING
            try:
                chatwoot.post_message(config, link.remote_id, content, incoming=incoming, private=not incoming)
                posted += 1
            except chatwoot.Rejected as exc:  # this one is refused; the ones behind it still go
                _record(desk, f"message #{message.seq} not copied: {exc}")
        DeskConversation.objects.filter(pk=link.pk).update(forwarded_seq=message.seq)
        link.forwarded_seq = message.seq
    return posted


def _content(message: Message, desk: Desk) -> str:
    """The words of a transcript row for the desk; "" for what it must not get back (its own
    agents' replies)."""
    from integrations.messaging.kinds import fallback_text

    agent = (message.metadata or {}).get("agent") if isinstance(message.metadata, dict) else None
    if isinstance(agent, dict) and agent.get("desk") == desk.kind:
        return ""
    text = fallback_text({"type": message.type, **(message.payload or {})}).strip()
    if not text:
        return ""
    if message.direction == Message.Direction.OUTGOING:
        text = f"{agent.get('name') or 'Agent'} (studio): {text}" if isinstance(agent, dict) else f"Bot: {text}"
    return text[:MAX_CONTENT_CHARS]


def _record(desk: Desk, error: str) -> None:
    logger.warning("help desk of bot %s: %s", desk.bot_id, error)
    Desk.objects.filter(pk=desk.pk).update(last_error=error[:2000], last_error_at=timezone.now())


# --- the desk's webhooks -------------------------------------------------------------------

def find_inbound_desk(kind: str, bot_id, secret_id: str) -> Desk:
    desk = Desk.objects.filter(kind=kind, bot_id=bot_id, secret_id=secret_id).first() if kind == KIND else None
    if desk is None:
        raise Refused(404, "no help desk at this URL")
    if not desk.enabled:
        raise Refused(403, "the help desk is disabled")
    return desk


def receive_webhook(kind: str, bot_id, secret_id: str, headers, body: bytes) -> str:
    """Check and apply one webhook of the desk; returns what was done ("message", "resolved",
    "duplicate", "ignored: <why>"). Refused (nothing stored) when it is not the desk's."""
    desk = find_inbound_desk(kind, bot_id, secret_id)
    try:
        config = config_of(desk)
    except DeskError as exc:
        raise Refused(409, str(exc)) from None
    if len(body) > MAX_BODY_BYTES:
        raise Refused(413, f"the webhook is larger than {MAX_BODY_BYTES} bytes")
    problem = chatwoot.signature_problem(config.webhook_secret, headers, body)
    if problem:
        raise Refused(401, problem)
    try:
        data = untrusted_json.decode(body)
    except untrusted_json.UntrustedJSON as exc:
        raise Refused(400, f"the webhook should be a JSON object of Chatwoot: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise Refused(400, "the webhook should be a JSON object of Chatwoot with an \"event\"")
    event = data["event"]
    if event == "message_created":
        return _agent_reply(desk, data)
    if event in ("conversation_status_changed", "conversation_resolved", "conversation_updated"):
        if event == "conversation_resolved" or data.get("status") == "resolved":
            return _resolved(desk, data)
        return "ignored: not resolved"
    return f"ignored: {event[:60]}"


def _remote_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    return None


def _agent_reply(desk: Desk, data: dict) -> str:
    conversation_data = data.get("conversation") if isinstance(data.get("conversation"), dict) else {}
    # The conversation's display id: the one its API routes take and our link keeps.
    remote = _remote_id(conversation_data.get("display_id", conversation_data.get("id")))
    sender = data.get("sender") if isinstance(data.get("sender"), dict) else {}
    if data.get("message_type") not in ("outgoing", 1) or data.get("private") is True:
        return "ignored: not a public reply"
    if str(sender.get("type") or "").lower() != "user":
        return "ignored: not written by an agent"  # the user's messages, bots, our own notes
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        return "ignored: no text"
    message_id = _remote_id(data.get("id"))
    link = _link_of(desk, remote)
    if link is None or message_id is None:
        return "ignored: not a conversation of this bot"
    try:
        with transaction.atomic():
            DeskWebhook.objects.create(desk=desk, key=f"message:{message_id}")
            handoff.send_desk_message(link.conversation, content[:MAX_CONTENT_CHARS], desk=desk.kind,
                                      agent_id=str(sender.get("id") or ""), name=str(sender.get("name") or "")[:200],
                                      avatar_url=_avatar(sender))
    except IntegrityError:
        return "duplicate"
    except handoff.HandoffError as exc:
        return f"ignored: {exc}"
    return "message"


def _avatar(sender: dict) -> str:
    url = sender.get("avatar_url") or sender.get("thumbnail") or ""
    return url if isinstance(url, str) and url.startswith("https://") and len(url) <= 500 else ""


def _resolved(desk: Desk, data: dict) -> str:
    remote = _remote_id(data.get("display_id", data.get("id")))
    link = _link_of(desk, remote)
    if link is None:
        return "ignored: not a conversation of this bot"
    # One hand back per handoff: a redelivery, or the same event through a second webhook,
    # finds the key taken.
    stamp = link.escalated_at.isoformat() if link.escalated_at else "-"
    try:
        with transaction.atomic():
            DeskWebhook.objects.create(desk=desk, key=f"resolved:{remote}:{stamp}")
            # Resolved there: the hand back must not resolve it again (`close`).
            DeskConversation.objects.filter(pk=link.pk, closed_at__isnull=True).update(closed_at=timezone.now())
    except IntegrityError:
        return "duplicate"
    from . import tasks

    transaction.on_commit(lambda: tasks.schedule_hand_back(link.conversation_id))
    return "resolved"


def _link_of(desk: Desk, remote_id: int | None) -> DeskConversation | None:
    if remote_id is None:
        return None
    return (DeskConversation.objects.filter(desk=desk, remote_id=remote_id).select_related("conversation")
            .first())


def hand_back(conversation_pk) -> list:
    """The desk resolved the conversation: back to the bot (hitlStopped), which answers at once.
    Nothing when people no longer have it (handed back in the studio meanwhile)."""
    conversation = Conversation.objects.filter(pk=conversation_pk).first()
    if conversation is None or conversation.handoff_status not in handoff.ACTIVE:
        return []
    try:
        return handoff.hand_back(conversation)
    except handoff.HandoffError:
        return []


def run_on_thread(target, conversation_pk, name: str) -> None:
    """Without a worker (eager tasks, the embedded default): on a thread, so the caller (a
    turn, a webhook) never waits on the desk."""
    def run():
        try:
            target(conversation_pk)
        except Exception:
            logger.exception("help desk work for conversation %s failed", conversation_pk)
        finally:
            close_old_connections()

    threading.Thread(target=run, daemon=True, name=name).start()
