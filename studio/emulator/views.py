"""Thin views over `studio.emulator.sessions` (save as test) and `runtime.conversation_tests` (the
runner page). Permissions come from `studio.permissions.get_bot_for`; JSON errors use the
editor's shape `{"error": {"code", "message", "details"}}`."""
from __future__ import annotations

import difflib

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from flows import services as flow_services
from flows import untrusted_json
from flows.botfile.problems import BotFileInvalid
from runtime import conversation_tests
from studio.emulator import sessions as emulator
from studio.permissions import can, get_bot_for

VIEW, CHANGE = "flows.view_bot", "flows.change_bot"
MAX_BODY_BYTES = 64 * 1024  # a conversation id, a name and a few variable names


def _error(status: int, code: str, message: str, details=None, **extra) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": details or [], **extra}},
                        status=status)


@require_http_methods(["POST"])
def save_test(request, bot_id):
    """Body: {conversationId, name, variables: ["user.firstName"], baseRevision}."""
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "log in to save tests")
    try:
        bot = get_bot_for(request.user, bot_id, CHANGE)
    except Http404:
        return _error(404, "not_found", "no such bot")
    except PermissionDenied:
        return _error(403, "permission_denied", f"your role in this workspace does not allow {CHANGE}")
    try:
        body = untrusted_json.decode(request.body or b"{}", max_bytes=MAX_BODY_BYTES, what="the request body")
    except untrusted_json.UntrustedJSON as exc:
        return _error(400, "bad_request", str(exc), [{"path": exc.path, "message": exc.message}])
    if not isinstance(body, dict):
        return _error(400, "bad_request", "the request body must be a JSON object")
    base = body.get("baseRevision")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool) or base < 1):
        return _error(400, "bad_request", "baseRevision must be the draft revision your copy is based on",
                      [{"path": "baseRevision", "message": "must be a positive integer"}])
    try:
        saved = emulator.save_as_test(request.user, bot, conversation_id=body.get("conversationId"),
                                      name=body.get("name"), variables=body.get("variables") or [],
                                      base_revision=base)
    except emulator.EmulatorError as exc:
        field, _, message = exc.message.partition(": ") if ": " in exc.message else ("", "", exc.message)
        return _error(400, exc.code, exc.message, [{"path": field, "message": message}] if field else [])
    except flow_services.StaleRevision as exc:
        return _error(409, "stale_revision", str(exc), currentRevision=exc.current_revision)
    except BotFileInvalid as exc:
        return _error(400, "draft_has_errors",
                      "the draft has errors, so the test cannot be stored with it; fix them first",
                      [{"path": p.path, "message": p.message} for p in exc.problems])
    return JsonResponse(saved, status=201)


@login_required
@require_http_methods(["GET", "POST"])
def tests_page(request, bot_id):
    """The bot's conversation tests; POST runs them (all, or the one named) and shows each
    step's expected and received values with what differs marked."""
    bot = get_bot_for(request.user, bot_id, VIEW)
    tests = list((bot.draft or {}).get("tests") or [])
    results, error = None, None
    if request.method == "POST":
        names = [request.POST["name"]] if request.POST.get("name") else None
        try:
            results = [_result_view(r) for r in conversation_tests.run_tests(bot, names=names)]
        except (LookupError, BotFileInvalid) as exc:
            error = str(exc) if isinstance(exc, LookupError) else \
                "the bot does not build: " + "; ".join(f"{p.path}: {p.message}" for p in exc.problems)
    return render(request, "emulator/tests.html", {
        "bot": bot, "tests": tests, "results": results, "error": error,
        "passed": sum(r["passed"] for r in results) if results else 0,
        "can_change": can(request.user, CHANGE, bot),
    })


def _result_view(result: conversation_tests.TestResult) -> dict:
    return {
        "name": result.name, "target": result.target, "passed": result.passed,
        "steps": [{
            "where": f"step {step.index + 1}" if step.index is not None else "after the last step",
            "kind": step.kind, "ok": step.ok, "message": step.message,
            "expected": step.expected, "received": step.received,
            "diff": None if step.ok else _diff(step.expected, step.received),
            "detail": step.detail,
        } for step in result.steps],
    }


def _diff(expected: str, received: str) -> dict:
    """Both texts cut into (text, changed) segments, so the page can mark what differs."""
    matcher = difflib.SequenceMatcher(None, expected, received, autojunk=False)
    left, right = [], []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if expected[a1:a2]:
            left.append((expected[a1:a2], op != "equal"))
        if received[b1:b2]:
            right.append((received[b1:b2], op != "equal"))
    return {"expected": left, "received": right}
