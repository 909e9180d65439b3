"""Channel settings changed by people in the studio: each change is made through the
channel's own service and recorded in the workspace's audit log here, on the people's side,
so `integrations` never writes audit entries (docs/architecture.md)."""
from __future__ import annotations

from flows.models import Bot
from integrations.chat_api import services as chat_api
from integrations.chat_api.models import ChatApiSettings
from studio.people import audit


def configure_chat_api(bot: Bot, *, user, enabled: bool | None = None, rotate_key: bool = False,
                       encryption_key: str | None = None, webhook_url: str | None = None,
                       webhook_secret: str | None = None) -> ChatApiSettings:
    """`update_chat_api` for a studio member, recorded in the audit log (which says what
    changed, never a key or a secret)."""
    row = chat_api.update_chat_api(bot, enabled=enabled, rotate_key=rotate_key, encryption_key=encryption_key,
                                   webhook_url=webhook_url, webhook_secret=webhook_secret)
    changed = {
        **({"enabled": row.enabled} if enabled is not None else {}),
        **({"key": "replaced"} if rotate_key or encryption_key is not None else {}),
        **({"webhookUrl": row.webhook_url} if webhook_url is not None else {}),
        **({"webhookSecret": "replaced"} if webhook_secret is not None else {}),
    }
    audit.record(actor=user if getattr(user, "is_authenticated", False) else None, workspace=bot.workspace,
                 action="chat_api.update", target=bot, details=changed)
    return row


def configure_channel(bot: Bot, kind: str, values: dict, *, user, enabled: bool | None = None):
    """Install or change a messaging channel (integrations/messaging), recorded in the audit
    log with the names of the fields given, never their values when they are secret."""
    from integrations.messaging import services as messaging

    existed = messaging.Channel.objects.filter(bot=bot, kind=kind).exists()
    channel = messaging.configure(bot, kind, values, enabled=enabled)
    secret = messaging.kind_of(kind).Config.secret_fields()
    changed = {name: ("replaced" if name in secret else value) for name, value in values.items()
               if not (name in secret and not value)}
    audit.record(actor=_actor(user), workspace=bot.workspace,
                 action="channel.update" if existed else "channel.install", target=bot,
                 details={"channel": kind, **changed, **({"enabled": channel.enabled} if enabled is not None else {})})
    return channel


def set_channel_enabled(bot: Bot, kind: str, enabled: bool, *, user):
    from integrations.messaging import services as messaging

    channel = messaging.set_enabled(bot, kind, enabled)
    audit.record(actor=_actor(user), workspace=bot.workspace, action="channel.update", target=bot,
                 details={"channel": kind, "enabled": enabled})
    return channel


def remove_channel(bot: Bot, kind: str, *, user) -> None:
    from integrations.messaging import services as messaging

    messaging.remove(bot, kind)
    audit.record(actor=_actor(user), workspace=bot.workspace, action="channel.remove", target=bot,
                 details={"channel": kind})


def _actor(user):
    return user if getattr(user, "is_authenticated", False) else None


def rotate_webhook_trigger_secret(bot: Bot, flow: str, node: str, *, user) -> str:
    """Make or replace a webhook trigger's secret (runtime/triggers.py), recorded in the audit
    log with the trigger it belongs to; the secret is returned once and never logged."""
    from django.db import transaction

    from runtime import triggers

    with transaction.atomic():
        secret = triggers.webhook_secret(bot, flow, node, rotate=True)
        audit.record(actor=_actor(user), workspace=bot.workspace, action="trigger.secret", target=bot,
                     details={"flow": flow, "node": node})
    return secret


def configure_helpdesk(bot: Bot, values: dict, *, user):
    """Connect or change the bot's external help desk (integrations/helpdesk), recorded in the
    audit log with the fields given, never the token or the webhook secret."""
    from integrations.helpdesk import chatwoot
    from integrations.helpdesk import services as helpdesk

    existed = helpdesk.desk_of(bot) is not None
    desk = helpdesk.configure(bot, values)
    secret = chatwoot.Config.secret_fields()
    changed = {name: ("replaced" if name in secret else value) for name, value in values.items()
               if not (name in secret and not value)}
    audit.record(actor=_actor(user), workspace=bot.workspace,
                 action="helpdesk.update" if existed else "helpdesk.connect", target=bot,
                 details={"desk": desk.kind, **changed})
    return desk


def set_helpdesk_enabled(bot: Bot, enabled: bool, *, user):
    from integrations.helpdesk import services as helpdesk

    desk = helpdesk.set_enabled(bot, enabled)
    audit.record(actor=_actor(user), workspace=bot.workspace, action="helpdesk.update", target=bot,
                 details={"desk": desk.kind, "enabled": enabled})
    return desk


def remove_helpdesk(bot: Bot, *, user) -> None:
    from integrations.helpdesk import services as helpdesk

    kind = helpdesk.desk_of(bot).kind if helpdesk.desk_of(bot) else helpdesk.KIND
    helpdesk.remove(bot)
    audit.record(actor=_actor(user), workspace=bot.workspace, action="helpdesk.remove", target=bot,
                 details={"desk": kind})
