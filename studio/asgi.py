import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
# Django must be set up before any consumer module is imported.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from integrations.chat_api import asgi as chat_api  # noqa: E402

from integrations.webchat.routing import websocket_urlpatterns as webchat_websockets  # noqa: E402
from studio.emulator.routing import websocket_urlpatterns as emulator_websockets  # noqa: E402

if settings.FLOWSTUDIO_EMBEDDED_BEAT:
    # The embedded default has no beat process; its periodic work runs in this server.
    from runtime import embedded_beat  # noqa: E402
    from studio.celery import app as celery_app  # noqa: E402

    embedded_beat.start(celery_app)

# No AllowedHostsOriginValidator in front of the webchat: it is embedded on other sites, and
# each bot's own allowed origins are checked by its consumer, on connect and on every frame.


async def http(scope, receive, send):
    # The Chat API is served by its own ASGI front, past the studio's middleware (see
    # integrations/chat_api/asgi.py for why).
    if scope["path"].startswith(chat_api.PREFIX):
        return await chat_api.application(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


application = ProtocolTypeRouter({
    "http": http,
    "websocket": URLRouter([*webchat_websockets, *emulator_websockets]),
})
