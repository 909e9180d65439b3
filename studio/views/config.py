"""The configuration variables page of a bot: the declared names with "set" / "not set" per
environment, and set, replace or clear a value. Values are write-only: the page never shows
one, not even right after saving. Writing goes through flows.services (the REST API's service),
which audits who changed which name where, never the value."""
from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flows import services
from studio.api.config import ENVIRONMENTS, config_entries
from studio.permissions import can
from studio.views.access import bot_page


@bot_page()
def config_page(request, bot):
    return render(request, "studio/config.html", {
        "bot": bot, "entries": config_entries(bot), "environments": ENVIRONMENTS,
        "can_change": can(request.user, "flows.change_config", bot),
    })


@require_POST
@bot_page("flows.change_config")
def change_value(request, bot, name, environment):
    if environment not in ENVIRONMENTS:
        raise Http404(f"unknown environment {environment!r}")
    action = request.POST.get("action", "set")
    try:
        if action == "clear":
            services.delete_config_value(bot, name, environment, user=request.user)
            flash.success(request, f"{name} ({environment}) cleared.")
        elif action == "set":
            value = request.POST.get("value", "")
            if value == "":
                flash.error(request, f"{name} ({environment}): type a value to save, or use Clear.")
            else:
                services.set_config_value(bot, name, environment, value, user=request.user)
                flash.success(request, f"{name} ({environment}) saved.")
        else:
            flash.error(request, f"unknown action {action!r}")
    except services.UnknownConfigVariable as exc:
        flash.error(request, str(exc))
    except services.InvalidChange as exc:
        flash.error(request, str(exc))
    return redirect("studio:bot_config", bot_id=bot.pk)
