"""The messaging channels section of a bot's dashboard: install a channel by pasting its
credentials, see its webhook URL, enable, disable or remove it. Changes go through
studio/channel_settings.py (audited); the channels themselves are integrations/messaging."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from integrations.messaging import kinds as channel_kinds
from integrations.messaging import services as messaging
from studio import channel_settings
from studio.views.access import bot_page

# How a builder sets each channel up, shown above its form (docs/channels.md has the rest).
SETUP = {
    "telegram": "Paste the token @BotFather gave you and save: the webhook is registered with Telegram for you.",
    "slack": "Paste the Bot User OAuth Token and the Signing Secret, save, then paste the webhook URL as the "
             "Request URL under Event Subscriptions (bot events message.im, message.channels) and Interactivity.",
    "webhook": "Your system POSTs signed JSON to the webhook URL; replies are POSTed, signed, to the reply URL.",
    "whatsapp": "Paste the Phone number ID, a System User access token and the App secret, save, then paste the "
                "webhook URL and the verify token under WhatsApp → Configuration and subscribe to messages.",
    "messenger": "Paste the Page access token and the App secret, save, then paste the webhook URL and the verify "
                 "token under Messenger → Webhooks and subscribe the Page to messages and messaging_postbacks.",
    "twilio": "Paste the Account SID, the Auth token and the sending number, save, then paste the webhook URL as "
              "the number's \"A message comes in\" webhook (HTTP POST).",
}


def section(bot) -> list[dict]:
    """Every channel kind, installed or not, with its form fields (never a secret's value)."""
    installed = {channel.kind: channel for channel in messaging.channels_of(bot)}
    rows = []
    for name, kind in sorted(channel_kinds.KINDS.items(), key=lambda item: item[1].label):
        channel = installed.get(name)
        summary = messaging.summary(channel) if channel else None
        secret_fields = kind.Config.secret_fields()
        fields = []
        for field_name, info in kind.Config.model_fields.items():
            secret = field_name in secret_fields
            fields.append({
                "name": field_name, "title": info.title or field_name, "description": info.description or "",
                "secret": secret, "required": info.is_required() and field_name not in kind.generated,
                "value": "" if secret or summary is None else summary["settings"].get(field_name, ""),
                "set": bool(summary and field_name in summary["secretsSet"]),
            })
        rows.append({"kind": name, "label": kind.label, "setup": SETUP.get(name, ""), "channel": summary,
                     "fields": fields, "testable": messaging.has_connection_test(name)})
    return rows


@require_POST
@bot_page("flows.change_config")
def change(request, bot, kind):
    action = request.POST.get("action")
    try:
        if action == "save":
            fields = messaging.kind_of(kind).Config.model_fields
            values = {name: request.POST.get(name, "").strip() for name in fields if name in request.POST}
            channel_settings.configure_channel(bot, kind, values, user=request.user)
            messages.success(request, f"{messaging.kind_of(kind).label} channel saved.")
        elif action == "test":
            # Changes nothing, so no audit entry: one call to the channel's API.
            ok, message = messaging.test_connection(bot, kind)
            (messages.success if ok else messages.error)(request, message)
        elif action in ("enable", "disable"):
            channel_settings.set_channel_enabled(bot, kind, action == "enable", user=request.user)
        elif action == "remove":
            channel_settings.remove_channel(bot, kind, user=request.user)
            messages.success(request, f"{messaging.kind_of(kind).label} channel removed.")
        else:
            return HttpResponse(f"unknown action {action!r}", status=400)
    except messaging.ChannelError as exc:
        messages.error(request, str(exc))
    return redirect(reverse("studio:bot", args=[bot.pk]) + f"#channel-{kind}")


@require_GET
@bot_page("flows.change_config")
def webhook_secret(request, bot):
    """The generic webhook's secret, shown on request only: the other system signs with it."""
    try:
        channel = messaging.get_channel(bot, "webhook")
    except messaging.ChannelError as exc:
        return HttpResponse(str(exc), status=404, content_type="text/plain")
    return HttpResponse(messaging.config_of(channel).secret, content_type="text/plain")
