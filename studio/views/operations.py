"""A live bot's Logs (with a live tail), Events and Issues pages (docs/dashboard.md).
Reading goes through studio/operations.py; marking an issue resolved through runtime.issues."""
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from studio import analytics as service_analytics
from studio import operations as service
from studio.permissions import can
from studio.query_params import InvalidFilter
from studio.views.access import bot_page

READ = "flows.view_conversations"
# Marking an issue resolved changes what the team sees, not the bot: the bot editors' right.
RESOLVE = "flows.change_bot"
TAIL_SIZE = 500


def _id_or_error(request, name):
    try:
        return service.event_id_param(request.GET, name), None
    except InvalidFilter as exc:
        return None, str(exc)


@bot_page(READ)
def logs(request, bot):
    error = None
    try:
        filters = service.LogFilters.from_query(request.GET)
    except InvalidFilter as exc:
        filters, error = service.LogFilters(), str(exc)
    before, id_error = _id_or_error(request, "before")
    error = error or id_error
    result = service.LogPage() if error else service.log_page(bot, filters, before=before)
    context = {"bot": bot, "filters": filters, "levels": service.LEVELS, "page": result, "error": error,
               "query": urlencode(filters.as_query()), "first_page": before is None}
    template = "studio/_log_results.html" if request.htmx else "studio/logs.html"
    return render(request, template, context, status=400 if error else 200)


@bot_page(READ)
def logs_tail(request, bot):
    """Polled by the Logs page every 2 seconds: lines of turns after `after`, to put on top."""
    try:
        filters = service.LogFilters.from_query(request.GET)
        after = service.event_id_param(request.GET, "after")
    except InvalidFilter as exc:
        return render(request, "studio/_log_tail.html", {"bot": bot, "error": str(exc)}, status=400)
    result = service.log_page(bot, filters, after=after or 0, size=TAIL_SIZE)
    return render(request, "studio/_log_tail.html", {
        "bot": bot, "page": result, "query": urlencode(filters.as_query()), "bot_id": bot.pk})


@bot_page(READ)
def events(request, bot):
    error = None
    try:
        filters = service.EventFilters.from_query(request.GET)
    except InvalidFilter as exc:
        filters, error = service.EventFilters(), str(exc)
    before, id_error = _id_or_error(request, "before")
    error = error or id_error
    rows, older = ([], None) if error else service.event_page(bot, filters, before=before)
    context = {"bot": bot, "filters": filters, "rows": rows, "older": older, "error": error,
               "directions": service.DIRECTIONS, "types": service.event_types(bot, filters.direction),
               "query": urlencode(filters.as_query()), "first_page": before is None}
    template = "studio/_event_results.html" if request.htmx else "studio/events.html"
    return render(request, template, context, status=400 if error else 200)


@bot_page(READ)
def issues(request, bot):
    state = request.GET.get("state", "open")
    try:
        found, latest = service.issue_list(bot, state)
        error = None
    except InvalidFilter as exc:
        found, latest, error, state = [], None, str(exc), "open"
    return render(request, "studio/issues.html", {
        "bot": bot, "issues": found, "latest": latest, "state": state, "states": service.ISSUE_STATES,
        "error": error, "can_resolve": can(request.user, RESOLVE, bot),
    }, status=400 if error else 200)


@require_POST
@bot_page(RESOLVE)
def resolve_issue(request, bot, issue_id):
    reopen = request.POST.get("action") == "reopen"
    issue = service.resolve_issue(bot, issue_id, user=request.user, resolved=not reopen)
    if issue is None:
        raise Http404("no such issue")
    flash.success(request, f"Issue {'opened again' if reopen else 'marked resolved'}: {issue.pattern[:80]}")
    state = request.POST.get("state", "open")
    return redirect(f"/bots/{bot.pk}/issues/?state={state if state in service.ISSUE_STATES else 'open'}")


@bot_page(READ)
def analytics(request, bot):
    try:
        chosen, error = service_analytics.Range.from_query(request.GET), None
    except InvalidFilter as exc:
        chosen, error = service_analytics.Range.from_query({}), str(exc)
    data = None if error else service_analytics.report(bot, chosen)
    return render(request, "studio/analytics.html", {
        "bot": bot, "range": chosen, "data": data, "error": error, "channels": service_analytics.channels(bot),
    }, status=400 if error else 200)
