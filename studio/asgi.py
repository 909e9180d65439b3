import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
# Django must be set up before any consumer module is imported.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from integrations.agui import asgi as agui  # noqa: E402
from integrations.chat_api import asgi as chat_api  # noqa: E402
from integrations.messaging import asgi as messaging  # noqa: E402
from runtime import log_context, metrics  # noqa: E402
from studio import health  # noqa: E402

from integrations.webchat.routing import websocket_urlpatterns as webchat_websockets  # noqa: E402
from studio.emulator.routing import websocket_urlpatterns as emulator_websockets  # noqa: E402
from studio.log_tail import websocket_urlpatterns as log_tail_websockets  # noqa: E402

if settings.FLOWSTUDIO_LLM_DEMO:
    # A demo model in this process, for trying AI cards with no account (integrations/llm/demo.py).
    # Before the beat thread starts: SQLite takes one writer at a time.
    from studio import llm_providers  # noqa: E402

    llm_providers.start_demo()

if settings.FLOWSTUDIO_EMBEDDED_BEAT:
    # The embedded default has no beat process; its periodic work runs in this server.
    from runtime import embedded_beat  # noqa: E402
    from studio.celery import app as celery_app  # noqa: E402

    embedded_beat.start(celery_app)

if settings.FLOWSTUDIO_STARTUP_SWEEP:
    # What a crashed predecessor acknowledged but never answered (runtime/recovery.py).
    from integrations.messaging import inbound as messaging_inbound  # noqa: E402
    from runtime import recovery  # noqa: E402

    recovery.sweep_after_start(messaging_inbound.sweep)

# No AllowedHostsOriginValidator in front of the webchat: it is embedded on other sites, and
# each bot's own allowed origins are checked by its consumer, on connect and on every frame.


async def http(scope, receive, send):
    # The Chat API is served by its own ASGI front, past the studio's middleware (see
    # integrations/chat_api/asgi.py for why); probes and metrics too (studio/health.py).
    if scope["path"].startswith(chat_api.PREFIX):
        return await chat_api.application(scope, receive, send)
    if scope["path"].startswith(agui.PREFIX):
        # AG-UI runs of Chat API conversations (integrations/agui/asgi.py), on the same terms.
        return await agui.application(scope, receive, send)
    if scope["path"].startswith(messaging.PREFIX):
        # The messaging channels' webhooks likewise (integrations/messaging/asgi.py).
        return await messaging.application(scope, receive, send)
    if scope["path"].rstrip("/") in health.PATHS:
        return await health.application(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


websocket = URLRouter([*webchat_websockets, *emulator_websockets, *log_tail_websockets])


_routed = ProtocolTypeRouter({"http": http, "websocket": websocket})


async def application(scope, receive, send):
    """Every connection gets a request id (the proxy's X-Request-ID when it sent a sane one),
    on its log lines and in the X-Request-ID answer header; websockets are counted."""
    if scope["type"] not in ("http", "websocket"):
        return await _routed(scope, receive, send)
    given = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
    request_id = log_context.new_request_id(given)
    log_context.request_id.set(request_id)
    if scope["type"] == "http":
        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()),
                                                  (b"x-request-id", request_id.encode())]}
            await send(message)

        return await _routed(scope, receive, send_with_id)
    kind = "webchat" if scope["path"].startswith("/ws/webchat/") else "other"
    accepted = False

    async def send_counted(message):
        nonlocal accepted
        if message["type"] == "websocket.accept" and not accepted:
            accepted = True
            metrics.WEBSOCKETS.labels(kind).inc()
        await send(message)

    try:
        return await _routed(scope, receive, send_counted)
    finally:
        if accepted:
            metrics.WEBSOCKETS.labels(kind).dec()

