"""Schemathesis over the Chat API, from a schema of the `@botpress/chat` client's operations
(tests/fuzz/chat_api.openapi.yaml), through the ASGI application as a server runs it (the
loop's PostgreSQL pool, the turn service, the hub): no input may answer 5xx, and every
refusal is in the error shape the client parses. No login is needed for the Chat API, so
this is what anyone on the internet can send.

The user key and the ids in paths are real ones in about two cases out of three, so bodies
reach the code behind the authentication and the lookups. Positive and negative cases
(schemathesis's data generation modes) are both sent."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from integrations.chat_api.tests import asgi_client
from integrations.chat_api.tests.conftest import ChatApi, make_bot

schema = schemathesis.openapi.from_path(Path(__file__).with_name("chat_api.openapi.yaml"))

EXAMPLES_PER_OPERATION = 12
ERROR_FIELDS = {"id", "code", "type", "message"}


@pytest.fixture
def chat_world(transactional_db, fresh_chat_api):
    _, row = make_bot()
    chat = ChatApi(row)
    user_id, key = chat.user()
    conversation = chat.conversation(key)
    status, sent = chat.say(key, conversation, "hello")
    assert status == 201, sent
    status, event = chat.call("POST", "/events", {"conversationId": conversation, "payload": {"k": 1}}, key=key)
    assert status == 201, event
    return chat, key, {"conversationId": conversation, "userId": user_id, "messageId": sent["message"]["id"],
                       "eventId": event["event"]["id"]}


def _use_real(case, name: str) -> bool:
    digest = hashlib.sha256(f"{case.operation.label}:{name}:{case.id}".encode()).digest()
    return digest[0] % 3 != 0


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_chat_api_fail_with_a_server_error(case, chat_world):
    chat, key, real = chat_world
    for name in list(case.path_parameters or {}):
        if name in real and _use_real(case, name):
            case.path_parameters[name] = real[name]
    if case.headers is not None and "x-user-key" in case.headers and _use_real(case, "x-user-key"):
        case.headers["x-user-key"] = key
    sent = case.as_transport_kwargs(base_url=f"http://testserver{chat.prefix}")
    body = json.dumps(sent["json"]).encode() if "json" in sent else sent.get("data") or b""
    if isinstance(body, str):
        body = body.encode()
    headers = {name: value for name, value in sent["headers"].items()
               if name.lower() in ("x-user-key", "content-type")}
    status, _, content = asgi_client.request(sent["method"], unquote(urlsplit(sent["url"]).path), body=body,
                                             query=urlencode(sent.get("params") or {}, doseq=True), headers=headers)
    answer = json.loads(content)
    assert status < 500, (case.operation.label, sent, answer)
    if status >= 400:
        assert ERROR_FIELDS <= set(answer) and answer["code"] == status, answer
