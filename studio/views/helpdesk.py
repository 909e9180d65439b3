"""The help desk section of a bot's dashboard: connect an external desk (Chatwoot) that takes
the bot's handoffs instead of the studio's Inbox, test the connection, enable, disable or
remove it. Changes go through studio/channel_settings.py (audited); the desk itself is
integrations/helpdesk (docs/handoff.md, "An external desk: Chatwoot")."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.helpdesk import chatwoot
from integrations.helpdesk import services as helpdesk
from studio import channel_settings
from studio.views.access import bot_page

SETUP = ("In Chatwoot, make an API channel inbox and note its number; paste your Chatwoot URL, the account and "
         "inbox numbers and an agent's access token, save; then add a webhook (Settings → Integrations → "
         "Webhooks, or the inbox's agent bot) to the webhook URL below with the events message_created and "
         "conversation_status_changed, and paste its secret here.")


def section(bot) -> dict:
    """The desk's form fields (never a secret's value) and its state."""
    summary = helpdesk.summary(helpdesk.desk_of(bot))
    secret_fields = chatwoot.Config.secret_fields()
    fields = []
    for name, info in chatwoot.Config.model_fields.items():
        secret = name in secret_fields
        fields.append({
            "name": name, "title": info.title or name, "description": info.description or "", "secret": secret,
            "value": "" if secret or summary is None else summary["settings"].get(name, ""),
            "set": bool(summary and name in summary["secretsSet"]),
        })
    return {"label": helpdesk.LABEL, "setup": SETUP, "desk": summary, "fields": fields}


@require_POST
@bot_page("flows.change_config")
def change(request, bot):
    action = request.POST.get("action")
    try:
        if action == "save":
            values = {name: request.POST.get(name, "").strip() for name in chatwoot.Config.model_fields
                      if name in request.POST}
            channel_settings.configure_helpdesk(bot, values, user=request.user)
            messages.success(request, "Chatwoot desk saved.")
        elif action == "test":
            # Changes nothing, so no audit entry: one call to the desk's API.
            ok, message = helpdesk.test_connection(bot)
            (messages.success if ok else messages.error)(request, message)
        elif action in ("enable", "disable"):
            channel_settings.set_helpdesk_enabled(bot, action == "enable", user=request.user)
        elif action == "remove":
            channel_settings.remove_helpdesk(bot, user=request.user)
            messages.success(request, "Chatwoot desk removed.")
        else:
            return HttpResponse(f"unknown action {action!r}", status=400)
    except helpdesk.DeskError as exc:
        messages.error(request, str(exc))
    return redirect(reverse("studio:bot", args=[bot.pk]) + "#helpdesk")
