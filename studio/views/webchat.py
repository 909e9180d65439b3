"""The bot's Webchat settings page and its live preview (docs/webchat.md): people change
what the public widget shows here, inside the studio's frame; the widget itself is served by
`integrations.webchat`."""
from __future__ import annotations

from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods

from flows.greeting import NO_GREETING_HINT, greets_on_open
from integrations.webchat import configuration, services
from integrations.webchat.views import init_options, script_json
from studio.views.access import bot_page

TEMPLATE = "studio/webchat_settings.html"


def _settings_context(request, bot, current, errors=None, values=None):
    base = services.public_base_url(request)
    # The preview serves the latest published version; the draft is told apart so a builder
    # who added the greeting but has not published yet knows why the preview stays silent.
    greets = services.greets_on_open(bot)
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
        "published": greets is not None,
        "greets": bool(greets),
        "draft_greets": greets_on_open(bot.draft),
        "no_greeting_hint": NO_GREETING_HINT,
        "configuration_json": script_json(configuration.widget_configuration(current)),
    }


def _form_values(current) -> dict:
    values = {name: getattr(current, name) for name in configuration.EDITABLE_FIELDS}
    values["allowed_origins"] = "\n".join(current.allowed_origins or [])
    values["upload_types"] = "\n".join(configuration.upload_types(current))
    return values


# It shows the identity secret and changes what the public sees: editors only.
@require_http_methods(["GET", "POST"])
@bot_page("flows.change_config")
def settings_page(request, bot):
    current = services.get_settings(bot)
    if request.method == "GET":
        return render(request, TEMPLATE, _settings_context(request, bot, current))
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
        return render(request, TEMPLATE,
                      _settings_context(request, bot, current, errors=exc.errors, values=values), status=400)
    return redirect(request.path + "?saved=1")


@require_GET
@xframe_options_sameorigin
@bot_page("flows.view_bot")
def preview_page(request, bot):
    """The live preview inside the settings page: the widget, open, on a blank page; the
    settings form sends it unsaved changes with postMessage. A bot that says nothing on open
    shows the builder how to greet instead of an empty chat."""
    options = init_options(request, bot, preview=True, emptyStateText=NO_GREETING_HINT)
    return render(request, "webchat/preview.html", {"bot": bot, "options": script_json(options)})
