from django.urls import path

from . import media_views, views

app_name = "messaging"
urlpatterns = [
    path("integrations/<slug:kind>/<uuid:bot_id>/<str:secret_id>/", views.inbound, name="inbound"),
    # Not under /integrations/: that prefix is the inbound webhooks' own ASGI front.
    path("channel-media/<uuid:media_id>/", media_views.media_file, name="media"),
]
