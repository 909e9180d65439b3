"""A bot's conversations on the dashboard: the filtered, cursor-paged list, its export (CSV or
JSON lines) and one conversation's transcript with each turn's trace and logs behind a
click. Reading goes through studio/conversations.py (docs/dashboard.md)."""
import csv
import json
from urllib.parse import urlencode

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.text import slugify

from studio import conversations as service
from studio.query_params import InvalidFilter
from studio.views.access import bot_page

PERM = "flows.view_conversations"


def _filters_or_error(request):
    try:
        return service.Filters.from_query(request.GET), None
    except InvalidFilter as exc:
        return service.Filters(), str(exc)


@bot_page(PERM)
def conversation_list(request, bot):
    filters, error = _filters_or_error(request)
    result = service.Page([])
    if error is None:
        try:
            result = service.page(bot, filters, request.GET.get("cursor", ""))
        except InvalidFilter as exc:
            error = str(exc)
    context = {"bot": bot, "filters": filters, "query": urlencode(filters.as_query()), "page": result, "error": error,
               "channels": service.channels(bot), "statuses": service.STATUS_CHOICES,
               "first_page": not request.GET.get("cursor")}
    # htmx asks for the rows only (filter form and "Next page"); a plain request the whole page.
    template = "studio/_conversation_rows.html" if request.htmx else "studio/conversations.html"
    return render(request, template, context, status=400 if error else 200)


class _Echo:
    def write(self, value):
        return value


# A cell a spreadsheet would run as a formula starts with one of these; the export quotes it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _export_name(bot, extension):
    return f'attachment; filename="{slugify(bot.name) or "bot"}-conversations.{extension}"'


@bot_page(PERM)
def export_csv(request, bot):
    try:
        filters = service.Filters.from_query(request.GET)
    except InvalidFilter as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(service.EXPORT_FIELDS)
        for row in service.export_rows(bot, filters):
            yield writer.writerow([_cell(row[name]) for name in service.EXPORT_FIELDS])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _export_name(bot, "csv")
    return response


@bot_page(PERM)
def export_jsonl(request, bot):
    try:
        filters = service.Filters.from_query(request.GET)
    except InvalidFilter as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in service.export_rows(bot, filters))
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = _export_name(bot, "jsonl")
    return response


def _conversation(bot, conversation_id):
    conversation = service.find(bot, conversation_id)
    if conversation is None:
        raise Http404("no such conversation")
    return conversation


@bot_page(PERM)
def transcript(request, bot, conversation_id):
    conversation = _conversation(bot, conversation_id)
    return render(request, "studio/conversation.html", {
        "bot": bot, "conversation": conversation, "rows": service.transcript(conversation),
        "back": request.GET.get("back", ""),
    })


@bot_page(PERM)
def turn(request, bot, conversation_id, event_id):
    """One turn's trace and logs (loaded into the transcript by htmx when clicked)."""
    event = service.turn_detail(_conversation(bot, conversation_id), event_id)
    if event is None:
        raise Http404("no such event in this conversation")
    return render(request, "studio/_conversation_turn.html", {
        "event": event, "trace": [json.dumps(entry, ensure_ascii=False) for entry in event.trace or []],
        "logs": event.logs or [], "payload": json.dumps(event.payload, ensure_ascii=False, indent=2),
    })
