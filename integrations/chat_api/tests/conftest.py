import copy
import json
from pathlib import Path

import pytest
from django.test import Client

from flows import services as flow_services
from integrations.chat_api import services, workers

HELLO_BOT = Path(__file__).resolve().parents[3] / "examples" / "chat-hello.bot.json"


@pytest.fixture(autouse=True)
def _fresh_chat_api():
    services.forget_cached_settings()
    yield
    # Pool threads keep their connections; close them before the test database goes.
    workers.close_all()
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
    """Raw HTTP calls to one bot's Chat API through Django's test client."""

    def __init__(self, settings_row):
        self.row = settings_row
        self.prefix = f"/chat/{settings_row.webhook_id}"
        self.http = Client()

    def call(self, method, path, body=None, key=None, raw=None, **query):
        headers = {"x-user-key": key} if key else {}
        url = self.prefix + path
        if method == "GET":
            response = self.http.get(url, query, headers=headers)
        else:
            data = raw if raw is not None else json.dumps(body or {})
            response = getattr(self.http, method.lower())(url, data=data, content_type="application/json",
                                                           headers=headers)
        return response.status_code, json.loads(response.content or b"{}")

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


@pytest.fixture
def chat(transactional_db):
    _, row = make_bot()
    return ChatApi(row)
