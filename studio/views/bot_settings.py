"""The Chatbot settings page of a bot: read for every reader of the bot, saved by its
editors. The service (studio/bot_settings.py) validates and writes the draft."""
from django.contrib import messages as flash
from django.shortcuts import redirect, render

from studio import bot_settings as service
from studio.permissions import can
from studio.views.access import bot_page


@bot_page("flows.view_bot")
def settings_page(request, bot):
    can_change = can(request.user, "flows.change_bot", bot)
    values, errors, status = service.current(bot), {}, 200
    if request.method == "POST":
        if not can_change:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("editing a bot's settings needs flows.change_bot")
        try:
            service.save(bot, request.POST, user=request.user)
        except service.Invalid as exc:
            values = {name: request.POST.get(name, "") for name in service.FIELDS}
            errors, status = exc.errors, 400
        else:
            flash.success(request, "Settings saved to the draft; publish the bot for its conversations to use them.")
            return redirect("studio:bot_settings", bot_id=bot.pk)
    return render(request, "studio/bot_settings.html", {
        "bot": bot, "values": values, "errors": errors, "can_change": can_change,
        "providers": service.providers(bot),
    }, status=status)
