"""The bot dashboard's Webhook triggers page (docs/hooks-and-triggers.md): the URL of each
webhook trigger node of the draft and whether it has a secret; making or rotating one shows
it on the answer to that POST, once: it is stored encrypted and no page shows it again."""
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from runtime import triggers
from studio import channel_settings
from studio.permissions import can
from studio.views.access import bot_page


def _page(request, bot, *, made=None, status=200):
    items = [{**item, "url": request.build_absolute_uri(item["path"])} for item in triggers.webhook_triggers(bot)]
    return render(request, "studio/triggers.html", {
        "bot": bot, "triggers": items, "made": made,
        "can_change": can(request.user, "flows.change_config", bot),
    }, status=status)


@bot_page()
def triggers_page(request, bot):
    return _page(request, bot)


@never_cache  # the answer holds the secret: no cache may keep it
@require_POST
@bot_page("flows.change_config")
def rotate_secret(request, bot, flow, node):
    trigger = triggers.find_webhook_trigger(bot, flow, node)
    if trigger is None:
        raise Http404(f"the draft has no webhook trigger {node!r} in flow {flow!r}")
    secret = channel_settings.rotate_webhook_trigger_secret(bot, flow, node, user=request.user)
    return _page(request, bot, made={"flow": flow, "node": node, "auth": trigger["auth"], "secret": secret,
                                     "url": request.build_absolute_uri(trigger["path"])})
