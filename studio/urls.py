from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

urlpatterns = [
    # The studio's own pages arrive with the editor; until then the admin is the way in.
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
]
