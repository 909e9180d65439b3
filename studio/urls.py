from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("studio.api.urls")),
    path("", include("studio.editor.urls")),
    path("", include("studio.emulator.urls")),
    path("", include("integrations.webchat.urls")),
    path("", include("integrations.messaging.urls")),
    path("", include("integrations.helpdesk.urls")),
    path("", include("integrations.triggers.urls")),
    path("", include("studio.views.urls")),
]
