"""The bot's Webchat settings page and its live preview (docs/webchat.md): people change
what the public widget shows here; the widget itself is served by `integrations.webchat`."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods

from integrations.webchat import configuration, services
from integrations.webchat.views import init_options, script_json
from studio.permissions import get_bot_for


def _settings_context(request, bot, current, errors=None, values=None):
    base = services.public_base_url(request)
    return {
        "bot": bot,
        "settings": current,
        "values": values or _form_values(current),
        "errors": errors or {},
        "fonts": current.Font.choices,
        "themes": current.Theme.choices,
        "storages": current.Storage.choices,
        "snippet": services.embed_snippet(bot, base),
        "share_url": services.share_url(bot, base),
        "identity_secret": current.identity_secret,
        "published": bot.versions.exists(),
        "configuration_json": script_json(configuration.widget_configuration(current)),
    }


def _form_values(current) -> dict:
    values = {name: getattr(current, name) for name in configuration.EDITABLE_FIELDS}
    values["allowed_origins"] = "\n".join(current.allowed_origins or [])
    values["upload_types"] = "\n".join(configuration.upload_types(current))
    return values


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request, bot_id):
    # It shows the identity secret and changes what the public sees: editors only.
    bot = get_bot_for(request.user, bot_id, "flows.change_config")
    current = services.get_settings(bot)
    if request.method == "GET":
        return render(request, "webchat/settings.html", _settings_context(request, bot, current))
    if request.POST.get("action") == "generate-secret":
        services.generate_identity_secret(bot)
        return redirect(request.path + "#identity")
    changes = {name: request.POST.get(name) for name in configuration.EDITABLE_FIELDS
               if name not in configuration.BOOLEAN_FIELDS}
    changes.update({name: name in request.POST for name in configuration.BOOLEAN_FIELDS})
    try:
        services.update_settings(bot, changes)
    except configuration.SettingsInvalid as exc:
        values = {**_form_values(current), **{k: v for k, v in changes.items()}}
        return render(request, "webchat/settings.html",
                      _settings_context(request, bot, current, errors=exc.errors, values=values), status=400)
    return redirect(request.path + "?saved=1")


@login_required
@require_GET
@xframe_options_sameorigin
def preview_page(request, bot_id):
    """The live preview inside the settings page: the widget, open, on a blank page; the
    settings form sends it unsaved changes with postMessage."""
    bot = get_bot_for(request.user, bot_id, "flows.view_bot")
    options = init_options(request, bot, preview=True)
    return render(request, "webchat/preview.html", {"bot": bot, "options": script_json(options)})
