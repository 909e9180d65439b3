import copy
import json
from pathlib import Path

from urllib.parse import urlencode

import pytest

from flows import services as flow_services
from integrations.chat_api import services, workers

from . import asgi_client

HELLO_BOT = Path(__file__).resolve().parents[3] / "examples" / "chat-hello.bot.json"


@pytest.fixture(autouse=True)
def _fresh_chat_api():
    services.forget_cached_settings()
    yield
    # Pool threads and the loop's pool keep their connections; close them before the test
    # database goes.
    workers.close_all()
    asgi_client.close_pools()
    services.forget_cached_settings()


def hello_definition() -> dict:
    return json.loads(HELLO_BOT.read_text())


def make_bot(definition=None, name=None):
    definition = copy.deepcopy(definition or hello_definition())
    if name:
        definition["name"] = name
    bot = flow_services.import_bot(definition, workspace=flow_services.default_workspace())
    flow_services.publish(bot)
    return bot, services.update_chat_api(bot, enabled=True)


class ChatApi:
    """Raw HTTP calls to one bot's Chat API, through the ASGI application as a server runs it."""

    def __init__(self, settings_row):
        self.row = settings_row
        self.prefix = f"/chat/{settings_row.webhook_id}"

    def call(self, method, path, body=None, key=None, raw=None, **query):
        headers = {"x-user-key": key} if key else {}
        if method == "GET":
            data = b""
        else:
            data = (raw if raw is not None else json.dumps(body or {})).encode()
            headers["content-type"] = "application/json"
        status, _, content = asgi_client.request(method, self.prefix + path, body=data, query=urlencode(query),
                                                 headers=headers)
        return status, json.loads(content or b"{}")

    def user(self, **fields):
        status, body = self.call("POST", "/users", fields)
        assert status == 201, body
        return body["user"]["id"], body["key"]

    def conversation(self, key, **fields):
        status, body = self.call("POST", "/conversations", fields, key=key)
        assert status == 201, body
        return body["conversation"]["id"]

    def say(self, key, conversation_id, text, **extra):
        return self.call("POST", "/messages", {"conversationId": conversation_id,
                                               "payload": {"type": "text", "text": text}, **extra}, key=key)


@pytest.fixture(params=["loop", "threads"])
def chat(request, transactional_db, settings):
    """A hello bot's Chat API, sending messages on the loop (PostgreSQL's hot path) or, as
    with any other database, on threads: both paths must behave the same."""
    if request.param == "threads":
        settings.CHAT_API_ASYNC = "off"
    _, row = make_bot()
    return ChatApi(row)
