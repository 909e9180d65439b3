"""The Chat API of each bot lives under `/chat/<webhook id>/` (docs/chat-api.md). A trailing
slash is optional everywhere: the official client asks for `/hello/`."""
from django.urls import include, path, re_path

from . import views


def route(pattern: str, view):
    return re_path(rf"^{pattern}/?$", view)


CONVERSATION = r"conversations/(?P<conversation_id>[^/]+)"

api_patterns = [
    route("hello", views.endpoint(GET=views.hello)),
    route("users", views.endpoint(POST=views.create_user)),
    route("users/get-or-create", views.endpoint(POST=views.get_or_create_user)),
    route("users/me", views.endpoint(GET=views.get_user, PUT=views.update_user, DELETE=views.delete_user)),
    route("conversations", views.endpoint(POST=views.create_conversation, GET=views.list_conversations)),
    # "get-or-create" is also a valid conversation id: GET and DELETE still reach it.
    route("conversations/(?P<conversation_id>get-or-create)",
          views.endpoint(POST=views.get_or_create_conversation, GET=views.get_conversation,
                         DELETE=views.delete_conversation)),
    route(CONVERSATION, views.endpoint(GET=views.get_conversation, DELETE=views.delete_conversation)),
    route(CONVERSATION + "/listen", views.listen),
    route(CONVERSATION + "/messages", views.endpoint(GET=views.list_messages)),
    route(CONVERSATION + "/participants",
          views.endpoint(POST=views.add_participant, GET=views.list_participants)),
    route(CONVERSATION + r"/participants/(?P<user_id>[^/]+)",
          views.endpoint(GET=views.get_participant, DELETE=views.remove_participant)),
    route("messages", views.endpoint(POST=views.create_message)),
    route(r"messages/(?P<message_id>[^/]+)", views.endpoint(GET=views.get_message, DELETE=views.delete_message)),
    route("events", views.endpoint(POST=views.create_event)),
    route(r"events/(?P<event_id>[^/]+)", views.endpoint(GET=views.get_event)),
]

urlpatterns = [path("chat/<str:webhook_id>/", include(api_patterns))]
