"""The AG-UI endpoint in this process (the ASGI application as a server runs it): refusals
before the stream (HTTP status and the Chat API's error body, naming the field), a turn of
the hello bot, the same run sent twice, and the interrupt rules (a run on a thread with a
pending interrupt must resume it; an unknown interrupt; a cancelled one cancels the run)."""
import json
import uuid

import pytest

from integrations.chat_api import auth
from integrations.chat_api.tests import asgi_client
from integrations.chat_api.tests.conftest import make_bot
from runtime.models import Message, WorkflowRun
from runtime.tests.bots import order_workflow_bot

pytestmark = pytest.mark.django_db(transaction=True)


def post(row, body, *, key=None, raw=None, method="POST"):
    headers = {"content-type": "application/json", "accept": "text/event-stream"}
    if key:
        headers["x-user-key"] = key
    data = raw if raw is not None else json.dumps(body).encode()
    status, headers, content = asgi_client.request(method, f"/agui/{row.webhook_id}", body=data, headers=headers)
    if headers.get("content-type") == "text/event-stream":
        events = [json.loads(line[len("data: "):]) for line in content.decode().split("\n\n")
                  if line.startswith("data: ")]
        return status, events
    return status, json.loads(content or b"{}")


def run_input(thread, text=None, *, resume=None, message_id=None):
    body = {"threadId": thread, "runId": str(uuid.uuid4()), "state": {}, "tools": [], "context": [],
            "forwardedProps": {}, "messages": []}
    if text is not None:
        body["messages"] = [{"id": message_id or str(uuid.uuid4()), "role": "user", "content": text}]
    if resume is not None:
        body["resume"] = resume
    return body


@pytest.fixture
def hello():
    _, row = make_bot()
    return row, auth.user_key(row.encryption_key, "agui-user")


def test_refusals_come_before_the_stream_and_name_what_is_wrong(hello):
    row, key = hello
    status, body = post(row, run_input("t1", "hi"), key="not-a-jwt")
    assert status == 401 and "x-user-key" in body["message"]
    status, body = post(row, run_input("t1", "hi"))
    assert status == 401
    status, body = post(row, {"runId": "r"}, key=key)
    assert status == 400 and "$.threadId" in body["message"]
    status, body = post(row, {**run_input("t1"), "messages": [{"id": "m", "role": "user", "content": 3}]}, key=key)
    assert status == 400 and "$.messages[0].content" in body["message"]
    status, body = post(row, {**run_input("t1"), "resume": [{"interruptId": "x", "status": "maybe"}]}, key=key)
    assert status == 400 and "$.resume[0].status" in body["message"]
    status, body = post(row, None, key=key, raw=b'{"threadId": "t1", "runId": "\\ud800"}')
    assert status == 400 and "surrogate" in body["message"]
    status, body = post(row, {}, key=key, method="GET")
    assert status == 405
    assert not Message.objects.exists()


def test_a_turn_and_the_same_run_again(hello):
    row, key = hello
    body = run_input("thread-1", "hello there", message_id="m-1")
    status, events = post(row, body, key=key)
    assert status == 200
    assert [e["type"] for e in events] == ["RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
                                           "TEXT_MESSAGE_END", "RUN_FINISHED"], events
    assert events[0] == {"type": "RUN_STARTED", "threadId": "thread-1", "runId": body["runId"]}
    assert events[2]["delta"] == "hello there"
    assert events[-1]["outcome"] == {"type": "success"}
    # The same last message again (a client retrying): not said twice; the run just ends.
    status, events = post(row, body, key=key)
    assert [e["type"] for e in events] == ["RUN_STARTED", "RUN_FINISHED"]
    assert Message.objects.filter(conversation__external_id="thread-1", direction="incoming").count() == 1
    # Another user cannot run in that thread.
    status, answer = post(row, run_input("thread-1", "me too"), key=auth.user_key(row.encryption_key, "someone"))
    assert status == 403


def test_the_interrupt_rules(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the steps run in this process
    _, row = make_bot(order_workflow_bot())
    key = auth.user_key(row.encryption_key, "agui-orders")
    status, events = post(row, run_input("orders-1", "ann"), key=key)
    end = events[-1]
    assert end["type"] == "RUN_FINISHED" and end["outcome"]["type"] == "interrupt", events
    [pending] = end["outcome"]["interrupts"]

    status, events = post(row, run_input("orders-1", "hello?"), key=key)
    assert [e["type"] for e in events] == ["RUN_STARTED", "RUN_ERROR"]
    assert events[1]["code"] == "INTERRUPT_PENDING" and pending["id"] in events[1]["message"]

    status, events = post(row, run_input("orders-1", resume=[{"interruptId": "nope:x", "status": "resolved",
                                                               "payload": {}}]), key=key)
    assert events[1]["code"] == "INTERRUPT_UNKNOWN"
    status, events = post(row, run_input("orders-1", resume=[{"interruptId": pending["id"], "status": "resolved",
                                                               "payload": {"orderId": ""}}]), key=key)
    assert events[1]["code"] == "INVALID_PAYLOAD" and "orderId" in events[1]["message"]

    status, events = post(row, run_input("orders-1", resume=[{"interruptId": pending["id"], "status": "cancelled"}]),
                          key=key)
    assert events[-1]["type"] == "RUN_FINISHED" and events[-1]["outcome"] == {"type": "success"}, events
    workflow_id = pending["metadata"]["workflowId"]
    assert events[-1]["result"] == {"workflows": [{"workflowId": workflow_id, "status": "cancelled", "output": None}]}
    assert WorkflowRun.objects.get(pk=workflow_id).status == "cancelled"
