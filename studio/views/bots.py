"""A workspace's bots: list, create from a template (the New Bot dialog), import, export, delete; the bot
dashboard. Bot operations are the services of flows.services."""
import json

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from flows import bot_templates, services
from flows.botfile.problems import BotFileInvalid
from integrations.chat_api import services as chat_api
from integrations.chat_api.errors import ChatApiError
from studio import channel_settings
from studio.forms import ImportBotForm, NewBotForm
from studio.permissions import can, can_on_bots_in
from studio.views import channels, helpdesk
from studio.views.access import bot_page, workspace_page


def _bots_context(request, workspace, *, new_form=None, import_form=None, problems=None):
    can_view = can_on_bots_in(request.user, "flows.view_bot", workspace)
    bots = workspace.bots.all().order_by("name", "created_at") if can_view else []
    return {
        "can_view_bots": can_view,
        "can_add_bot": can(request.user, "flows.add_bot", workspace),
        "bots": bots,
        "new_form": new_form or NewBotForm(),
        "templates": bot_templates.TEMPLATES,
        # The AI template works only with a provider; the dialog says so before anyone picks it.
        "has_llm_provider": workspace.llm_providers.exists(),
        "open_new_bot": new_form is not None,
        "import_form": import_form or ImportBotForm(),
        "problems": problems,
    }


@workspace_page()
def bots(request, workspace):
    return render(request, "studio/bots.html", _bots_context(request, workspace))


@require_POST
@workspace_page("flows.add_bot")
def create(request, workspace):
    form = NewBotForm(request.POST)
    if form.is_valid():
        try:
            bot = services.create_bot(
                workspace, name=form.cleaned_data["name"], description=form.cleaned_data["description"],
                template=form.cleaned_data["template"] or "blank", user=request.user,
            )
        except services.InvalidChange as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Bot {bot.name} created.")
            # Straight to the canvas: the builder picked a template to start working on it.
            return redirect("editor:edit", bot_id=bot.pk)
    return render(request, "studio/bots.html", _bots_context(request, workspace, new_form=form), status=400)


@require_POST
@workspace_page("flows.add_bot")
def import_file(request, workspace):
    form = ImportBotForm(request.POST, request.FILES)
    problems = None
    if form.is_valid():
        upload = form.cleaned_data["file"]
        limit = settings.FLOWSTUDIO_IMPORT_MAX_BYTES
        data = upload.read(limit + 1)  # one byte past the limit is enough to refuse
        text = None
        if len(data) > limit:
            form.add_error("file", f"{upload.name}: the file is larger than {limit // (1024 * 1024)} MB")
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                form.add_error("file", f"{upload.name}: the file is not UTF-8 text")
        if text is not None:
            try:
                bot = services.import_bot(text, workspace=workspace, user=request.user)
            except BotFileInvalid as exc:
                problems = exc.problems
                count = len(problems)
                form.add_error("file", f"{upload.name} was not imported: it has {count} problem{'s' if count != 1 else ''}")
            else:
                messages.success(request, f"Bot {bot.name} imported.")
                return redirect("studio:bot", bot_id=bot.pk)
    return render(request, "studio/bots.html", _bots_context(request, workspace, import_form=form, problems=problems), status=400)


@bot_page()
def dashboard(request, bot):
    versions = list(bot.versions.order_by("-number").select_related("author")[:20])
    return render(request, "studio/bot.html", {
        "bot": bot,
        "chat_api": chat_api.settings_summary(bot),
        "channels": channels.section(bot),
        "helpdesk": helpdesk.section(bot),
        "description": bot.draft.get("description", "") if isinstance(bot.draft, dict) else "",
        "versions": versions,
        "conversations": bot.conversations.count(),
        "end_users": bot.end_users.count(),
    })


@bot_page()
def export(request, bot):
    try:
        document = services.export_bot(bot)
    except BotFileInvalid:
        # An unfinished draft still exports, as the editor left it, so work is never trapped.
        document = services.draft_document(bot)
    response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{slugify(bot.name) or "bot"}.bot.json"'
    return response


@require_POST
@bot_page("flows.change_config")
def chat_api_settings(request, bot):
    """The Chat API section of the dashboard: enable, webhook, new key."""
    action = request.POST.get("action")
    try:
        if action == "enable":
            channel_settings.configure_chat_api(bot, user=request.user, enabled=True)
        elif action == "disable":
            channel_settings.configure_chat_api(bot, user=request.user, enabled=False)
        elif action == "rotate-key":
            channel_settings.configure_chat_api(bot, user=request.user, rotate_key=True)
            messages.success(request, "New encryption key made: user keys signed with the old one no longer work.")
        elif action == "webhook":
            channel_settings.configure_chat_api(bot, user=request.user, webhook_url=request.POST.get("webhook_url", "").strip())
        else:
            return HttpResponse(f"unknown action {action!r}", status=400)
    except ChatApiError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("studio:bot", args=[bot.pk]) + "#chat-api")


@require_GET
@bot_page("flows.change_config")
def chat_api_key(request, bot):
    """The encryption key, shown on request only (a backend needs it to sign user keys)."""
    return HttpResponse(chat_api.chat_api_settings(bot).encryption_key, content_type="text/plain")


@require_POST
@bot_page("flows.delete_bot")
def delete(request, bot):
    workspace, name = bot.workspace, bot.name
    services.delete_bot(bot, user=request.user)
    if request.htmx:
        return HttpResponse("")  # the row goes away
    messages.success(request, f"Bot {name} deleted.")
    return redirect("studio:bots", slug=workspace.slug)
