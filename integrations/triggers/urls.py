from django.urls import path

from . import views

app_name = "triggers"

urlpatterns = [
    path("triggers/<uuid:bot_id>/<str:flow>/<str:node>/", views.webhook, name="webhook"),
]
