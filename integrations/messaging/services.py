"""The messaging channels' business operations: install and change a channel, turn it on
and off, and find the channel an inbound webhook names (the views and the CLI stay thin).
What a channel delivers is stored and made events by inbound.py.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.urls import reverse
from pydantic import ValidationError

from flows.models import Bot, BotVersion

from . import kinds
from .kinds import Refused
from .models import Channel

logger = logging.getLogger(__name__)

kinds.load_all()


class ChannelError(Exception):
    """A change a bot builder asked for that cannot be made; the message says why."""


def kind_of(name: str) -> kinds.ChannelKind:
    kind = kinds.get(name)
    if kind is None:
        raise ChannelError(f"unknown channel {name!r}: one of {', '.join(sorted(kinds.KINDS))}")
    return kind


def webhook_path(channel: Channel) -> str:
    return reverse("messaging:inbound", args=[channel.kind, channel.bot_id, channel.secret_id])


def webhook_url(channel: Channel) -> str:
    return settings.PUBLIC_URL.rstrip("/") + webhook_path(channel)


def config_of(channel: Channel):
    """The channel's config with its secrets; Refused(409) when what is stored no longer
    fits the kind (a channel saved by an older version, a key that cannot decrypt)."""
    kind = kind_of(channel.kind)
    try:
        return kind.Config.model_validate({**channel.settings, **channel.secrets})
    except ValidationError as exc:
        raise Refused(409, f"the {kind.label} channel is misconfigured: {_problems(exc)}; save it again") from None
    except Exception as exc:  # a secret the configured keys cannot decrypt
        raise Refused(409, f"the {kind.label} channel's credentials cannot be read ({type(exc).__name__}); "
                           f"paste them again") from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors())


def channels_of(bot: Bot) -> list[Channel]:
    return list(Channel.objects.filter(bot=bot).order_by("kind"))


def configure(bot: Bot, kind_name: str, values: dict, *, enabled: bool | None = None) -> Channel:
    """Install the channel or change it. Secret fields left empty keep their stored value
    (the studio never shows them back) or are generated. The kind's `on_save` runs with the
    new config (Telegram registers its webhook); if it refuses, nothing is saved."""
    kind = kind_of(kind_name)
    channel = Channel.objects.filter(bot=bot, kind=kind.name).first() or Channel(bot=bot, kind=kind.name)
    secret_fields = kind.Config.secret_fields()
    stored_secrets = channel.secrets if channel.pk else {}
    merged = {**channel.settings, **stored_secrets}
    for name, value in values.items():
        if name in secret_fields and (value is None or value == ""):
            continue
        merged[name] = value
    for name in kind.generated:
        if not merged.get(name):
            merged[name] = kind.generate(name)
    try:
        config = kind.Config.model_validate(merged)
    except ValidationError as exc:
        raise ChannelError(f"{kind.label}: {_problems(exc)}") from None
    try:
        kind.validate(config)
    except Refused as exc:
        raise ChannelError(f"{kind.label}: {exc.reason}") from None
    dumped = config.model_dump()
    channel.settings = {k: v for k, v in dumped.items() if k not in secret_fields}
    channel.secrets = {k: v for k, v in dumped.items() if k in secret_fields}
    if enabled is not None:
        channel.enabled = enabled
    # Before saving: the webhook URL needs no row, and a refusal leaves the channel as it was.
    try:
        kind.on_save(config, webhook_url(channel))
    except Refused as exc:
        raise ChannelError(f"{kind.label}: {exc.reason}") from None
    channel.save()
    return channel


def set_enabled(bot: Bot, kind_name: str, enabled: bool) -> Channel:
    channel = get_channel(bot, kind_name)
    channel.enabled = enabled
    channel.save(update_fields=["enabled", "updated_at"])
    return channel


def remove(bot: Bot, kind_name: str) -> None:
    get_channel(bot, kind_name).delete()


def get_channel(bot: Bot, kind_name: str) -> Channel:
    kind = kind_of(kind_name)
    channel = Channel.objects.filter(bot=bot, kind=kind.name).first()
    if channel is None:
        raise ChannelError(f"bot {bot.name!r} has no {kind.label} channel")
    return channel


def has_connection_test(kind_name: str) -> bool:
    return type(kind_of(kind_name)).check is not kinds.ChannelKind.check


def test_connection(bot: Bot, kind_name: str) -> tuple[bool, str]:
    """"Test connection": one harmless call to the channel's API with the saved credentials
    (Telegram getMe, Slack auth.test, WhatsApp's phone number, Messenger's /me, Twilio's
    account). (True, what it is connected to) or (False, the channel's answer in words)."""
    channel = get_channel(bot, kind_name)
    kind = kind_of(kind_name)
    try:
        config = config_of(channel)
        return True, f"{kind.label}: {kind.check(config)}"
    except Refused as exc:
        return False, f"{kind.label}: {exc.reason}"
    except (kinds.SendFailed, kinds.SendRejected) as exc:
        return False, f"{kind.label}: the connection test failed: {exc}"


def summary(channel: Channel) -> dict:
    """What the studio and the CLI show: never a secret, only whether one is set."""
    kind = kind_of(channel.kind)
    try:
        stored = channel.secrets
    except Exception:
        stored = {}
    return {"kind": channel.kind, "label": kind.label, "enabled": channel.enabled, "webhookUrl": webhook_url(channel),
            "settings": dict(channel.settings), "secretsSet": sorted(k for k, v in stored.items() if v),
            "failures": channel.failures.count()}


# --- inbound -------------------------------------------------------------------------------

def find_inbound_channel(kind_name: str, bot_id, secret_id: str) -> Channel:
    """The channel a webhook URL names, ready to receive; Refused with the reason otherwise.
    One query: the channel with its bot and whether the bot is published."""
    if kinds.get(kind_name) is None:
        raise Refused(404, f"no channel {kind_name!r}")
    channel = (Channel.objects.filter(kind=kind_name, bot_id=bot_id, secret_id=secret_id).select_related("bot")
               .annotate(published=Exists(BotVersion.objects.filter(bot_id=OuterRef("bot_id")))).first())
    if channel is None:
        raise Refused(404, "no such channel: the webhook URL is wrong or the channel was removed")
    if not channel.enabled:
        raise Refused(403, f"the {kinds.get(kind_name).label} channel of this bot is disabled")
    return channel
