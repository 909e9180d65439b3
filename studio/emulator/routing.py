from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from .consumer import EmulatorConsumer

# The emulator authenticates by the studio session cookie, so only the studio's own hosts
# may open it (no cross-site websocket hijacking), unlike the webchat's embeddable socket.
websocket_urlpatterns = [
    path("ws/emulator/<str:bot_id>/", AllowedHostsOriginValidator(AuthMiddlewareStack(EmulatorConsumer.as_asgi()))),
]
