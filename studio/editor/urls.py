"""The flow editor: the canvas page and the JSON endpoints it saves through (docs/editor.md)."""
from django.urls import path

from studio.editor import views

app_name = "editor"
urlpatterns = [
    path("bots/<uuid:bot_id>/editor/", views.edit, name="edit"),
    path("bots/<uuid:bot_id>/editor/draft", views.draft, name="draft"),
    path("bots/<uuid:bot_id>/editor/problems", views.problems, name="problems"),
    path("bots/<uuid:bot_id>/editor/layout", views.layout, name="layout"),
    path("bots/<uuid:bot_id>/editor/publish", views.publish, name="publish"),
    path("bots/<uuid:bot_id>/editor/versions", views.versions, name="versions"),
    path("bots/<uuid:bot_id>/editor/versions/<int:number>/restore", views.restore, name="restore"),
    path("bots/<uuid:bot_id>/editor/diff", views.diff, name="diff"),
    path("bots/<uuid:bot_id>/editor/export", views.export, name="export"),
    path("bots/<uuid:bot_id>/editor/import", views.import_file, name="import"),
]
