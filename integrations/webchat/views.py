"""HTTP side of the webchat: the embed scripts, the share page, the HTTP fallback for
browsers that cannot open a websocket, uploaded files, and the bot's Webchat settings page.
Thin: the rules are in `services`."""
from __future__ import annotations

import asyncio
import json
from functools import lru_cache
from pathlib import Path

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_http_methods

from flows import greeting, untrusted_json
from flows.models import Bot
from runtime import conversation_stream, live_turns

from . import services
from .services import WebchatError

WIDGET_PATH = Path(django_settings.BASE_DIR) / "static" / "webchat" / "inject.js"
# The background-workflow view (header, shimmer, form), shared with the emulator: served in
# front of the widget, so a page still loads one script.
WORKFLOW_VIEW_PATH = WIDGET_PATH.with_name("workflow.js")
POLL_SECONDS = 25
USER_KEY_HEADER = "X-Webchat-User-Key"


# --- scripts and pages ------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _widget_source(mtimes: tuple[float, float]) -> bytes:
    return WORKFLOW_VIEW_PATH.read_bytes() + b"\n" + WIDGET_PATH.read_bytes()


@require_GET
@gzip_page
def inject_js(request):
    """The widget. One file, no dependencies; any page may load it (the socket is what
    checks origins)."""
    response = HttpResponse(_widget_source((WORKFLOW_VIEW_PATH.stat().st_mtime, WIDGET_PATH.stat().st_mtime)), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def script_json(value) -> str:
    # Safe inside <script> and as a JS literal: no "</script>", no line separators.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def init_options(request, bot: Bot, **extra) -> dict:
    return {"botId": str(bot.pk), "hostUrl": services.public_base_url(request),
            "configuration": services.public_configuration(bot), **extra}


@require_GET
def config_js(request, bot_id):
    """The per-bot script of the embed snippet: the dashboard's configuration, then init."""
    bot = _bot_or_404(bot_id)
    options = script_json(init_options(request, bot))
    source = (
        "(function(){var o=" + options + ";window.botpressConfig=o;"
        "if(window.botpress&&window.botpress.init){window.botpress.init(o)}})();\n"
    )
    response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    # Short: a settings change reaches pages within a minute.
    response["Cache-Control"] = "public, max-age=60"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def share_page(request, bot_id):
    """`/s/<bot>`: the bot alone on a page, the widget full screen."""
    bot = _bot_or_404(bot_id)
    options = init_options(request, bot, fullscreen=True)
    # A bot that says nothing on open: its builders (signed in, allowed to change it) read how
    # to greet; anyone else reads the widget's own "send a message" line (docs/webchat.md).
    if request.user.is_authenticated and request.user.has_perm("flows.change_bot", bot):
        options["emptyStateText"] = greeting.NO_GREETING_HINT
    return render(request, "webchat/share.html", {"bot": bot, "options": script_json(options),
                                                  "bot_name": options["configuration"]["botName"]})


def _bot_or_404(bot_id) -> Bot:
    try:
        return services.find_bot(bot_id)
    except WebchatError:
        raise Http404("no such bot") from None


# --- HTTP fallback --------------------------------------------------------------------------

def _cors(request, response):
    origin = request.headers.get("Origin")
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Headers"] = f"Content-Type, {USER_KEY_HEADER}"
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    return response


def _error(request, exc: WebchatError, seq: int = 0):
    status = {4401: 401, 4403: 403, 4404: 404}.get(exc.close_code, 400)
    # Readable by the page even for a refused origin: the widget can say why, and an error
    # holds nothing but the reason.
    return _cors(request, JsonResponse(exc.as_frame(seq), status=status))


def _body(request) -> dict:
    try:
        body = untrusted_json.decode(request.body or b"{}", max_bytes=services.MAX_FRAME_BYTES,
                                     what="the request body")
    except RequestDataTooBig:
        raise WebchatError("bad_request", f"the request body is over {services.MAX_FRAME_BYTES} bytes") from None
    except untrusted_json.UntrustedJSON as exc:
        raise WebchatError("bad_request", str(exc)) from None
    if not isinstance(body, dict):
        raise WebchatError("bad_request", "the request body must be a JSON object")
    return body


def _preflight(request):
    return _cors(request, HttpResponse(status=204))


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def api_session(request, bot_id):
    """The hello of the fallback: `{ready, frames}` (the frames after `after`)."""
    if request.method == "OPTIONS":
        return _preflight(request)
    try:
        hello = _body(request)
        session = services.open_session(bot_id, origin=request.headers.get("Origin"),
                                        host=request.get_host(), hello=hello)
        after = hello.get("after") if isinstance(hello.get("after"), int) else 0
        if session.conversation_id != hello.get("conversationId"):
            after = 0
        frames, seq = services.transcript_after(session, max(after, 0))
        return _cors(request, JsonResponse({"ready": services.ready_frame(session, max(after, 0)),
                                            "frames": frames, "seq": seq}))
    except WebchatError as exc:
        return _error(request, exc)


def _session_from(request, bot_id, body: dict | None = None):
    body = body or {}
    return services.resume_session(
        bot_id,
        origin=request.headers.get("Origin"), host=request.get_host(),
        user_key=request.headers.get(USER_KEY_HEADER) or body.get("userKey"),
        conversation_id=body.get("conversationId") or request.GET.get("conversationId")
        or request.POST.get("conversationId"),
    )


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
async def api_send(request, bot_id):
    """One client frame (message, event, start, user, restart, ping). The bot's replies
    are processed before the answer returns; the poll delivers them."""
    response, pending = await sync_to_async(_send)(request, bot_id)
    await _process(pending)
    return response


def _send(request, bot_id):
    if request.method == "OPTIONS":
        return _preflight(request), None
    try:
        body = _body(request)
        session = _session_from(request, bot_id, body)
        result = services.handle_frame(session, body.get("frame"))
        after = body.get("after")
        reply = {**result.reply, "seq": after if isinstance(after, int) and after >= 0 else 0}
        return _cors(request, JsonResponse(reply)), session.conversation.pk if result.process else None
    except WebchatError as exc:
        return _error(request, exc), None


async def _process(conversation_pk):
    # Not on the one thread Django runs sync code on: a slow turn must not hold up other requests.
    if conversation_pk is not None:
        await live_turns.process(conversation_pk)


@csrf_exempt
@require_http_methods(["GET", "OPTIONS"])
async def api_poll(request, bot_id):
    """Long poll: the frames after `after`, waiting up to 25 s for the first one. Typing
    signals that arrive while waiting are returned too."""
    if request.method == "OPTIONS":
        return await sync_to_async(_preflight)(request)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        return await sync_to_async(_error)(request, WebchatError("bad_request", "after must be a whole number"))
    try:
        session = await sync_to_async(_session_from)(request, bot_id)
    except WebchatError as exc:
        return await sync_to_async(_error)(request, exc)
    frames, seq = await sync_to_async(services.transcript_after)(session, after)
    if not frames:
        frames, seq = await _wait_for_frames(session, after, request.GET.get("wait") != "0")
    return await sync_to_async(_cors)(request, JsonResponse({"frames": frames, "seq": seq}))


async def _wait_for_frames(session, after: int, wait: bool):
    layer = get_channel_layer()
    if layer is None or not wait:
        return [], after
    conversation_stream.serve_from(asyncio.get_running_loop())
    channel = await layer.new_channel("webchat-poll.")
    group = conversation_stream.group_name(session.conversation.pk)
    await layer.group_add(group, channel)
    signals = []
    try:
        # Joined first, then read: a reply committed in between is in the read.
        frames, seq = await sync_to_async(services.transcript_after)(session, after)
        if frames:
            return frames, seq
        deadline = asyncio.get_running_loop().time() + POLL_SECONDS
        while True:
            try:
                event = await asyncio.wait_for(layer.receive(channel),
                                               max(0.0, deadline - asyncio.get_running_loop().time()))
            except asyncio.TimeoutError:
                return [], after
            # The pieces of a streamed answer are for live connections: a poll that missed
            # some could not rebuild the text. It waits on for the stored message (why the
            # fallback does not carry pieces: docs/webchat.md, "Connection").
            if event.get("type") != conversation_stream.DELTA:
                break
        if event.get("type") == conversation_stream.CANCELLED:
            signals.append(conversation_stream.cancelled_frame(session.conversation.external_id, after, event))
        elif event.get("type") == conversation_stream.TYPING:
            signals.append(conversation_stream.control_frame("typing", after, on=event["on"]))
        elif event.get("type") == conversation_stream.DELETED:
            signals.append(conversation_stream.control_frame("deleted", after, messageSeqs=event["seqs"]))
        frames, seq = await sync_to_async(services.transcript_after)(session, after)
        return signals + frames, seq
    finally:
        await layer.group_discard(group, channel)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
async def api_upload(request, bot_id):
    """A file from the user (multipart: `file`, `conversationId`, user key header)."""
    response, pending = await sync_to_async(_upload)(request, bot_id)
    await _process(pending)
    return response


def _upload(request, bot_id):
    if request.method == "OPTIONS":
        return _preflight(request), None
    try:
        session = _session_from(request, bot_id)
        upload = request.FILES.get("file")
        if upload is None:
            raise WebchatError("bad_request", "send the file as the multipart field 'file'")
        limit = session.settings.max_upload_mb * 1024 * 1024
        if upload.size > limit:
            raise WebchatError("upload_too_large",
                               f"{upload.name} is {upload.size} bytes; the limit is {session.settings.max_upload_mb} MB")
        seq = services.store_upload(
            session, name=upload.name, content=upload.read(), declared_type=upload.content_type,
            file_url=lambda stored: request.build_absolute_uri(reverse("webchat:file", args=[stored.pk])),
        )
        reply = {"type": "ack", "seq": 0, "messageSeq": seq, "clientId": request.POST.get("clientId")}
        return _cors(request, JsonResponse(reply)), session.conversation.pk
    except WebchatError as exc:
        return _error(request, exc), None


@require_GET
def uploaded_file(request, upload_id):
    upload = services.get_upload(upload_id)
    if upload is None:
        raise Http404("no such file")
    response = HttpResponse(bytes(upload.content), content_type=upload.content_type)
    inline = upload.content_type.startswith("image/") and upload.content_type != "image/svg+xml"
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{upload.name.replace(chr(34), "")}"'
    # Whatever a file holds, it never runs as a page of the studio's origin.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=86400"
    return response
