from django.urls import path

from . import views

app_name = "webchat"
urlpatterns = [
    path("webchat/inject.js", views.inject_js, name="inject"),
    path("webchat/<str:bot_id>/config.js", views.config_js, name="config"),
    path("webchat/<str:bot_id>/api/session", views.api_session, name="api-session"),
    path("webchat/<str:bot_id>/api/send", views.api_send, name="api-send"),
    path("webchat/<str:bot_id>/api/poll", views.api_poll, name="api-poll"),
    path("webchat/<str:bot_id>/api/upload", views.api_upload, name="api-upload"),
    path("webchat/files/<uuid:upload_id>", views.uploaded_file, name="file"),
    path("s/<str:bot_id>", views.share_page, name="share"),
]
