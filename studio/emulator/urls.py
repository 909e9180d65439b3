"""The emulator's HTTP side: "Save as test" and the conversation-test runner page
(docs/emulator.md). The conversation itself runs over the websocket (studio.emulator.consumer)."""
from django.urls import path

from studio.emulator import views

app_name = "emulator"
urlpatterns = [
    path("bots/<uuid:bot_id>/emulator/tests", views.save_test, name="save_test"),
    path("bots/<uuid:bot_id>/tests/", views.tests_page, name="tests"),
]
