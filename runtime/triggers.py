"""Webhook and schedule triggers (docs/hooks-and-triggers.md): the two ways something other
than a user starts a trigger node's flow.

- A **webhook trigger** has a URL of its own, `/triggers/<bot id>/<flow>/<node>/`, and a
  secret (`webhook_secret`). A POST proves it knows the secret with an HMAC-SHA256
  signature of the body (`X-Flowstudio-Signature: sha256=<hex>`, the default) or the secret
  itself (`X-Flowstudio-Secret`, for senders that cannot sign), as the trigger's `auth`
  says. Its JSON body becomes `event.payload`; the event goes to the conversation named by
  `?conversationId=` or to a new one. Every refusal (`WebhookRefused`) stores nothing.
- A **schedule trigger** has a cron expression and a time zone. `fire_due_schedules` (a
  beat entry every minute) claims each due time with one unique row (`ScheduleClaim`), so
  a due time runs once however many beat or worker processes look at it; then a new
  conversation gets a `schedule` event.

Both events carry `metadata.trigger = {"flow", "node"}`, which the engine shows as
`event.trigger`: only that trigger node matches them.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from flows import encryption, untrusted_json
from flows import services as flow_services
from flows.models import Bot, BotVersion
from runtime import turns
from runtime.models import Conversation, ScheduleClaim, TriggerSecret

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Flowstudio-Signature"
SECRET_HEADER = "X-Flowstudio-Secret"
MAX_BODY_BYTES = 256 * 1024
# A due time is run if a tick sees it within this long; older ones (the server was down)
# are skipped rather than fired in a burst.
SCHEDULE_CATCH_UP = timedelta(minutes=5)


class WebhookRefused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Accepted:
    conversation: Conversation
    event_id: int


# ---- secrets --------------------------------------------------------------------------------

def webhook_secret(bot: Bot, flow: str, node: str, *, rotate: bool = False) -> str:
    """The trigger's secret, made on first use; `rotate` replaces it (the old one stops working)."""
    with transaction.atomic():
        row = TriggerSecret.objects.select_for_update().filter(bot=bot, flow=flow, node=node).first()
        if row is not None and not rotate:
            return encryption.decrypt(row.encrypted_secret)
        secret = secrets.token_urlsafe(32)
        if row is None:
            TriggerSecret.objects.create(bot=bot, flow=flow, node=node, encrypted_secret=encryption.encrypt(secret))
        else:
            row.encrypted_secret = encryption.encrypt(secret)
            row.save(update_fields=["encrypted_secret"])
        return secret


def webhook_triggers(bot: Bot) -> list[dict]:
    """The webhook trigger nodes of the bot's draft: {flow, node, auth, path, hasSecret}."""
    with_secret = set(TriggerSecret.objects.filter(bot=bot).values_list("flow", "node"))
    out = []
    for flow in (bot.draft or {}).get("flows") or ():
        for node in flow.get("nodes") or ():
            trigger = node.get("trigger") if isinstance(node, dict) else None
            if node.get("kind") == "trigger" and isinstance(trigger, dict) and trigger.get("type") == "webhook":
                out.append({"flow": flow.get("name"), "node": node.get("id"), "auth": trigger.get("auth") or "signature",
                            "path": webhook_path(bot, flow.get("name"), node.get("id")),
                            "hasSecret": (flow.get("name"), node.get("id")) in with_secret})
    return out


def find_webhook_trigger(bot: Bot, flow: str, node: str) -> dict | None:
    """The draft's webhook trigger at flow/node (as `webhook_triggers` lists it), or None."""
    return next((item for item in webhook_triggers(bot) if (item["flow"], item["node"]) == (flow, node)), None)


def webhook_path(bot: Bot, flow: str, node: str) -> str:
    return f"/triggers/{bot.pk}/{flow}/{node}/"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---- webhooks -------------------------------------------------------------------------------

def _published_trigger(bot_id, flow: str, node: str, kind: str):
    bot = Bot.objects.filter(pk=bot_id).first()
    if bot is None:
        raise WebhookRefused(404, "no such bot")
    try:
        loaded = flow_services.get_build(bot, draft=False)
    except flow_services.NotPublished:
        raise WebhookRefused(409, "the bot has no published version yet: publish it, then its triggers answer") from None
    for trigger in loaded.build.triggers:
        if trigger.type == kind and trigger.flow == flow and trigger.node == node:
            return bot, trigger
    raise WebhookRefused(404, f"the published version has no webhook trigger {node!r} in flow {flow!r}")


def receive_webhook(bot_id, flow: str, node: str, *, headers, body: bytes, declared_length: int | None,
                    conversation_id: str | None, user_id: str | None) -> Accepted:
    """Check one POST to a webhook trigger and store its event; WebhookRefused says why not
    (nothing is stored then). The turn runs after the commit."""
    for name, value in (("conversationId", conversation_id), ("userId", user_id)):
        # PostgreSQL cannot compare text with a NUL in it: refused here, not a 500 there.
        if value and ("\x00" in value or len(value) > 255):
            raise WebhookRefused(400, f"the {name} query parameter must be at most 255 characters, without NUL")
    bot, trigger = _published_trigger(bot_id, flow, node, "webhook")
    if (declared_length or 0) > MAX_BODY_BYTES or len(body) > MAX_BODY_BYTES:
        raise WebhookRefused(413, f"the body is larger than the {MAX_BODY_BYTES} byte limit")
    row = TriggerSecret.objects.filter(bot=bot, flow=flow, node=node).first()
    if row is None:
        raise WebhookRefused(401, "this trigger has no secret yet: make one in the studio, then sign requests with it")
    secret = encryption.decrypt(row.encrypted_secret)
    if trigger.auth == "secret":
        given = headers.get(SECRET_HEADER) or ""
        if not hmac.compare_digest(given.encode(), secret.encode()):
            raise WebhookRefused(401, f"the {SECRET_HEADER} header is missing or wrong")
    else:
        given = headers.get(SIGNATURE_HEADER) or ""
        if not hmac.compare_digest(given.encode(), signature(secret, body).encode()):
            raise WebhookRefused(401, f"the {SIGNATURE_HEADER} header is missing or is not sha256=<HMAC-SHA256 of "
                                      "the body with the trigger's secret, in hex>")
    try:
        # The one policy for outside JSON: depth, NUL and lone surrogates are refused too.
        payload = untrusted_json.decode(body, what="the body") if body else {}
    except untrusted_json.UntrustedJSON as exc:
        raise WebhookRefused(400, f"the body is not usable JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise WebhookRefused(400, f"the body must be a JSON object (it becomes event.payload), not {_json_kind(payload)}")
    with transaction.atomic():
        if conversation_id:
            conversation = Conversation.objects.filter(bot=bot, external_id=conversation_id, is_draft=False).first()
            if conversation is None:
                raise WebhookRefused(404, f"no conversation {conversation_id!r} of this bot")
        else:
            user = turns.get_or_create_user(bot, user_id or None)
            conversation = turns.start_conversation(bot, user, channel="webhook")
        event = turns.receive_event(conversation, "webhook", payload,
                                    metadata={"trigger": {"flow": flow, "node": node}})
        transaction.on_commit(lambda: process_after(conversation.pk))
    return Accepted(conversation=conversation, event_id=event.pk)


def _json_kind(value) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def process_after(conversation_pk) -> None:
    """The turn, after the acknowledgement: a worker's, or a thread's without one."""
    from runtime import tasks as runtime_tasks

    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=_process_on_thread, args=(conversation_pk,), daemon=True,
                         name="trigger-turn").start()
        return
    # The channels' queue, when one is set: trigger events are inbound traffic like theirs.
    queue = getattr(settings, "FLOWSTUDIO_CHANNELS_CELERY_QUEUE", "")
    runtime_tasks.process_conversation.apply_async((conversation_pk,), **({"queue": queue} if queue else {}))


def _process_on_thread(conversation_pk) -> None:
    from django.db import connections

    from runtime import tasks as runtime_tasks

    try:
        runtime_tasks.process_pending(conversation_pk)
    except Exception:
        logger.exception("processing trigger event of conversation %s failed", conversation_pk)
    finally:
        connections.close_all()


# ---- schedules ------------------------------------------------------------------------------

def due_time(cron: str, tz: str, now: datetime) -> datetime:
    """The latest due time of `cron` (read in `tz`) at or before `now`, as an aware datetime."""
    from croniter import croniter

    local = now.astimezone(ZoneInfo(tz))
    # croniter's get_prev is strictly before its start: start a second later so a tick at
    # exactly the due time sees it.
    return croniter(cron, local + timedelta(seconds=1)).get_prev(datetime)


def scheduled_triggers():
    """(bot, trigger) of every schedule trigger of every bot's latest published version."""
    bot_ids = BotVersion.objects.values_list("bot_id", flat=True).distinct()
    for bot in Bot.objects.filter(pk__in=bot_ids):
        try:
            build = flow_services.get_build(bot, draft=False).build
        except Exception:
            logger.exception("schedule triggers: bot %s has no usable published build", bot.pk)
            continue
        for trigger in build.triggers:
            if trigger.type == "schedule":
                yield bot, trigger


def claim(bot: Bot, trigger, due_at: datetime) -> Conversation | None:
    """Claim one due time and store its event in a new conversation, all in one transaction;
    None when another process claimed it first."""
    try:
        with transaction.atomic():
            row = ScheduleClaim.objects.create(bot=bot, flow=trigger.flow, node=trigger.node, due_at=due_at)
            user = turns.get_or_create_user(bot, f"schedule:{trigger.flow}/{trigger.node}")
            conversation = turns.start_conversation(bot, user, channel="schedule")
            turns.receive_event(conversation, "schedule", {"scheduledFor": due_at.isoformat()},
                                metadata={"trigger": {"flow": trigger.flow, "node": trigger.node}})
            ScheduleClaim.objects.filter(pk=row.pk).update(conversation=conversation)
    except IntegrityError:
        return None
    return conversation


def fire_due_schedules(now: datetime | None = None, *, process: bool = True) -> list[Conversation]:
    """Run every schedule trigger whose latest due time is within SCHEDULE_CATCH_UP of `now`
    and not claimed yet. Returns the conversations this call started."""
    now = now or timezone.now()
    started = []
    for bot, trigger in scheduled_triggers():
        due_at = due_time(trigger.cron, trigger.timezone, now)
        if now - due_at > SCHEDULE_CATCH_UP:
            continue
        conversation = claim(bot, trigger, due_at)
        if conversation is not None:
            started.append(conversation)
    if process:
        from runtime import tasks as runtime_tasks

        for conversation in started:
            try:
                runtime_tasks.process_pending(conversation.pk)
            except Exception:
                logger.exception("processing the schedule event of conversation %s failed", conversation.pk)
    return started
