from django.urls import path

from . import views

app_name = "helpdesk"
urlpatterns = [
    path("helpdesk/<slug:kind>/<uuid:bot_id>/<str:secret_id>/", views.webhook, name="webhook"),
]
