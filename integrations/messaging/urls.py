from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("integrations/<slug:kind>/<uuid:bot_id>/<str:secret_id>/", views.inbound, name="inbound"),
]
