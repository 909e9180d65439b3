from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # The studio's own pages arrive with the workspaces work; until then the admin is the way in.
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("flows.api.urls")),
    path("", include("studio.editor.urls")),
    path("", include("integrations.webchat.urls")),
    path("", include("integrations.chat_api.urls")),
]
