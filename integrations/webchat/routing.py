from django.urls import path

from .consumers import WebchatConsumer

websocket_urlpatterns = [
    path("ws/webchat/<str:bot_id>/", WebchatConsumer.as_asgi()),
]
