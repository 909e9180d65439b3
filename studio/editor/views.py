"""The editor page and the JSON endpoints it saves through.

Thin on purpose: permissions come from `studio.permissions.get_bot_for`, business
operations from `flows.services` and `studio.editor.drafts`. Every error is one JSON shape,
`{"error": {"code", "message", "details": [{"path", "message", "location"}]}}`, the same
shape the REST API uses.
"""
from __future__ import annotations

import functools
import json
from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from flows import services, untrusted_json
from flows.botfile.problems import BotFileInvalid
from flows.versions_diff import diff_definitions, summary_text
from studio import llm_providers
from studio.publishing import publish_draft
from studio.editor import catalogue, drafts
from studio.editor.problems import locate, report
from studio.permissions import can, get_bot_for

VIEW, CHANGE, PUBLISH = "flows.view_bot", "flows.change_bot", "flows.publish_bot"
MAX_IMPORT_BYTES = drafts.MAX_DOCUMENT_BYTES
EDITOR_MODULES = [f"editor/{name}.js" for name in (
    "editor", "store", "canvas", "cards", "drag", "tray", "completion", "inspector", "explorer", "problems",
    "save", "find", "versions", "prefs", "dialogs", "agents", "hint", "shortcuts", "field_messages", "varpicker",
    "layout", "tables", "knowledge")]


class BadRequest(Exception):
    def __init__(self, message: str, code: str = "bad_request", details=None, status: int = 400):
        super().__init__(message)
        self.code, self.details, self.status = code, details or [], status


def _error(status: int, code: str, message: str, details=None, **extra) -> JsonResponse:
    body = {"error": {"code": code, "message": message, "details": details or [], **extra}}
    return JsonResponse(body, status=status)


def _problem_details(doc, problems) -> list[dict]:
    return [{"path": p.path, "message": p.message, "location": locate(doc, p.path),
             **({"fixes": [dict(fix) for fix in p.fixes]} if p.fixes else {})} for p in problems]


def endpoint(perm: str):
    """A JSON endpoint on one bot: login, permission and the error shape in one place."""

    def wrap(view):
        @functools.wraps(view)
        def wrapper(request, bot_id, *args, **kwargs):
            if not request.user.is_authenticated:
                return _error(401, "not_authenticated", "log in to use the editor")
            try:
                bot = get_bot_for(request.user, bot_id, perm)
                return view(request, bot, *args, **kwargs)
            except Http404:
                return _error(404, "not_found", "no such bot")
            except PermissionDenied:
                return _error(403, "permission_denied", f"your role in this workspace does not allow {perm}")
            except BadRequest as exc:
                return _error(exc.status, exc.code, str(exc), exc.details)
            except services.StaleRevision as exc:
                changes = summary_text(exc.changes) if exc.changes else None
                return _error(409, "stale_revision", str(exc), currentRevision=exc.current_revision, changes=changes)

        return wrapper

    return wrap


def _json_body(request) -> dict:
    try:
        body = untrusted_json.decode(request.body or b"{}", max_bytes=MAX_IMPORT_BYTES, what="the request body")
    except RequestDataTooBig:
        raise BadRequest("the request body is too large", "too_large", status=413) from None
    except untrusted_json.UntrustedJSON as exc:
        if exc.path.startswith(("$.document.", "$.document[")):
            # Problems in the bot file are reported with paths rooted at it, like the validator's.
            path = "$" + exc.path[len("$.document"):]
            raise BadRequest("the document cannot be stored", "invalid_document",
                             [{"path": path, "message": exc.message, "location": {}}]) from None
        status, code = (413, "too_large") if exc.kind == "too_large" else (400, "bad_request")
        raise BadRequest(str(exc), code, [{"path": exc.path, "message": exc.message}], status=status) from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _revision(body: dict, key: str = "baseRevision", required: bool = True) -> int | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadRequest(f"{key} must be the draft revision your copy is based on (a positive integer)",
                         details=[{"path": key, "message": "must be a positive integer"}])
    return value


def _problems(bot, document, errors=None) -> list[dict]:
    """The panel's problems: the bot file's own, then what the workspace lacks for it (an
    LLM provider for its AI cards), which the validator cannot know."""
    errors = drafts.problems_of(document) if errors is None else errors
    return report(document, [*errors, *llm_providers.provider_problems(bot.workspace, document)])


def _draft_state(bot, *, with_problems: bool = True) -> dict:
    document = drafts.document_of(bot)
    state = {"revision": bot.draft_revision, "document": document}
    if with_problems:
        state["problems"] = _problems(bot, document)
    return state


def _versions(bot) -> list[dict]:
    out = []
    for version in bot.versions.select_related("author").defer("definition").order_by("-number"):
        author = version.author
        out.append({
            "number": version.number,
            "note": version.note,
            "createdAt": version.created_at.isoformat(),
            "author": (author.get_full_name() or author.get_username()) if author else None,
        })
    return out


# ---- the page -----------------------------------------------------------------------------

@login_required
def edit(request, bot_id):
    bot = get_bot_for(request.user, bot_id, VIEW)
    boot = {
        "bot": {"id": str(bot.pk), "name": bot.name, "workspace": bot.workspace.slug},
        # Validating a big bot takes a moment; the page asks for the problems once it is drawn.
        "draft": _draft_state(bot, with_problems=False),
        "versions": _versions(bot),
        "can": {"change": can(request.user, CHANGE, bot), "publish": can(request.user, PUBLISH, bot)},
        "catalogue": catalogue.card_catalogue(),
        "schemaDefs": catalogue.schema_defs(),
        "variableTypes": catalogue.variable_types(),
        "reservedFlows": catalogue.reserved_flows(),
        # The variable picker's and `{{` completion's types (what each card stores), and the
        # trigger node's types (static/editor/varpicker.js, completion.js, inspector.js).
        "writtenTypes": catalogue.written_types(),
        "triggerTypes": catalogue.trigger_types(),
        # The AI cards' model picker (static/editor/inspector.js, modelOptions).
        "llm": llm_providers.model_choices(bot.workspace),
        # The Agents dialog's form (static/editor/agents.js), from the bot file's schema.
        "agentsSchema": catalogue.agents_schema(),
    }
    return render(request, "editor/editor.html", {"bot": bot, "boot": boot, "modules": EDITOR_MODULES})


# ---- the draft ----------------------------------------------------------------------------

@require_http_methods(["GET", "PUT"])
def draft(request, bot_id):
    if request.method == "GET":
        return _get_draft(request, bot_id)
    return _put_draft(request, bot_id)


@endpoint(VIEW)
def _get_draft(request, bot):
    return JsonResponse(_draft_state(bot))


@endpoint(CHANGE)
def _put_draft(request, bot):
    body = _json_body(request)
    base = _revision(body)
    document = body.get("document")
    try:
        saved = drafts.save_draft(bot, document, base_revision=base)
    except BotFileInvalid as exc:
        raise BadRequest("the document cannot be stored", "invalid_document",
                         _problem_details(document if isinstance(document, dict) else {}, exc.problems)) from None
    return JsonResponse({"revision": saved.revision, "problems": _problems(bot, document, saved.problems)})


@require_http_methods(["GET"])
@endpoint(VIEW)
def problems(request, bot):
    """The problems panel's content for the stored draft: errors (with paths) and warnings."""
    document = drafts.document_of(bot)
    return JsonResponse({"revision": bot.draft_revision, "problems": _problems(bot, document)})


@require_http_methods(["PUT"])
@endpoint(CHANGE)
def layout(request, bot):
    """Node positions only: never a logic revision, but refused from a stale copy."""
    body = _json_body(request)
    base = _revision(body)
    positions = body.get("layout")
    if not isinstance(positions, dict):
        raise BadRequest("layout must be an object {flow: {node: [x, y]}}",
                         details=[{"path": "$.layout", "message": "must be an object"}])
    bot.refresh_from_db(fields=["draft", "draft_revision"])
    if bot.draft_revision != base:
        raise services.StaleRevision(bot.draft_revision)
    try:
        services.save_layout(bot, positions)
    except BotFileInvalid as exc:
        raise BadRequest("the layout does not fit the draft", "invalid_layout",
                         _problem_details(drafts.document_of(bot), exc.problems)) from None
    return JsonResponse({"revision": bot.draft_revision})


# ---- publishing and versions --------------------------------------------------------------

@require_http_methods(["POST"])
@endpoint(PUBLISH)
def publish(request, bot):
    body = _json_body(request)
    base = _revision(body)
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > 2000:
        raise BadRequest("note must be text of at most 2000 characters",
                         details=[{"path": "note", "message": "at most 2000 characters"}])
    bot.refresh_from_db()
    if bot.draft_revision != base:
        # Publishing something other than what the builder sees would be a surprise.
        raise services.StaleRevision(bot.draft_revision)
    try:
        version = publish_draft(bot, user=request.user, note=note.strip())
    except BotFileInvalid as exc:
        raise BadRequest("the draft has errors; fix them before publishing", "draft_has_errors",
                         _problem_details(drafts.document_of(bot), exc.problems)) from None
    return JsonResponse({"version": version.number, "versions": _versions(bot)}, status=201)


@require_http_methods(["GET"])
@endpoint(VIEW)
def versions(request, bot):
    return JsonResponse({"versions": _versions(bot)})


@require_http_methods(["POST"])
@endpoint(CHANGE)
def restore(request, bot, number: int):
    try:
        services.restore(bot, number, user=request.user)
    except services.UnknownVersion as exc:
        raise BadRequest(str(exc), "not_found", status=404) from None
    return JsonResponse(_draft_state(bot))


@require_http_methods(["GET"])
@endpoint(VIEW)
def diff(request, bot):
    def definition(which: str) -> dict:
        if which == "draft":
            return drafts.document_of(bot)
        if not which.isdigit():
            raise BadRequest(f"{which!r} is neither a version number nor 'draft'")
        found = bot.versions.filter(number=int(which)).first()
        if found is None:
            raise BadRequest(f"bot {bot.name!r} has no version {which}", "not_found", status=404)
        return found.definition

    old, new = request.GET.get("from", ""), request.GET.get("to", "draft")
    return JsonResponse({"from": old, "to": new, "diff": diff_definitions(definition(old), definition(new))})


# ---- import and export --------------------------------------------------------------------

@require_http_methods(["GET"])
@endpoint(VIEW)
def export(request, bot):
    version = request.GET.get("version")
    if version is not None and not version.isdigit():
        raise BadRequest("version must be a version number")
    problems = 0
    try:
        document = services.export_bot(bot, version=int(version) if version else None)
    except services.UnknownVersion as exc:
        raise BadRequest(str(exc), "not_found", status=404) from None
    except BotFileInvalid as exc:
        # An unfinished draft still exports as it is, so work is never trapped in the studio
        # (the bots page does the same); it will not import until its problems are fixed.
        document, problems = services.draft_document(bot), len(exc.problems)
    suffix = f"v{version}" if version else date.today().isoformat()
    filename = "".join(c if c.isalnum() or c in "-_" else "-" for c in bot.name).strip("-") or "bot"
    response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{suffix}.bot.json"'
    response["X-Bot-File-Problems"] = str(problems)
    return response


@require_http_methods(["POST"])
@endpoint(CHANGE)
def import_file(request, bot):
    """Replace the draft with an uploaded bot file (Botpress: import overwrites the bot)."""
    upload = request.FILES.get("file")
    if upload is None:
        raise BadRequest("choose a bot file to import", details=[{"path": "file", "message": "is required"}])
    if upload.size > MAX_IMPORT_BYTES:
        raise BadRequest(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB", status=413,
                         code="too_large")
    try:
        base = int(request.POST.get("baseRevision", ""))
    except ValueError:
        raise BadRequest("baseRevision must be the draft revision your copy is based on") from None
    text = upload.read()
    try:
        services.replace_draft(bot, text, base_revision=base, user=request.user)
    except BotFileInvalid as exc:
        raise BadRequest(f"{upload.name} is not a valid bot file", "invalid_bot_file",
                         [{"path": p.path, "message": p.message, "location": {}} for p in exc.problems]) from None
    return JsonResponse(_draft_state(bot))
