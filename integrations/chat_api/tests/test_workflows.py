"""A Chat API client runs the order workflow (docs/workflows.md): it sees the progress as
`event_created` entries in seq order, and answers each WorkflowInterventionRequired with
POST /resume-workflow; values missing a field are refused naming it."""
import time

import pytest

from runtime.models import Message, WorkflowRun
from runtime.tests.bots import order_workflow_bot

from .conftest import ChatApi, make_bot


@pytest.fixture
def order_chat(transactional_db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the steps run in this process (no worker)
    _, row = make_bot(order_workflow_bot())
    return ChatApi(row)


def paused_run(conversation_id, step):
    """The run, once paused at `step`: on the loop path the run starts on a thread after the
    turn is stored, so the answer to the message may come first."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        run = WorkflowRun.objects.filter(conversation__external_id=conversation_id).first()
        if run is not None and run.status == "paused" and run.current_step == step:
            return run
        time.sleep(0.1)
    raise AssertionError(f"no run paused at {step}")


def workflow_events(conversation_id):
    return [m.payload["payload"] for m in Message.objects.filter(conversation__external_id=conversation_id,
                                                                 type="event").order_by("seq")
            if m.payload["payload"]["type"].startswith("Workflow")]


def test_a_chat_api_client_answers_the_workflow_forms(order_chat):
    _, key = order_chat.user()
    conversation_id = order_chat.conversation(key)
    status, body = order_chat.say(key, conversation_id, "ann")
    assert status == 201, body
    run = paused_run(conversation_id, "ask-order")
    pending = workflow_events(conversation_id)[-1]
    assert pending["type"] == "WorkflowInterventionRequired" and pending["stepId"] == "ask-order"

    status, body = order_chat.call("POST", "/resume-workflow", {
        "conversationId": conversation_id, "workflowId": str(run.pk), "stepId": "ask-order",
        "values": {"orderId": "ORD-7"}}, key=key)
    assert status == 202, body
    status, body = order_chat.call("POST", "/resume-workflow", {
        "conversationId": conversation_id, "workflowId": str(run.pk), "stepId": "ask-address",
        "values": {"street": "1 Main St", "city": "Springfield"}}, key=key)
    assert (status, body["type"]) == (400, "InvalidPayload"), body
    assert "zip: is required" in body["message"]
    run.refresh_from_db()
    assert run.status == "paused"

    status, body = order_chat.call("POST", "/resume-workflow", {
        "conversationId": conversation_id, "workflowId": str(run.pk), "stepId": "ask-address",
        "values": {"street": "1 Main St", "city": "Springfield", "zip": "62701"}}, key=key)
    assert status == 202, body
    run.refresh_from_db()
    assert run.status == "completed" and run.output == {"result": "ORD-7 to Springfield"}
    assert workflow_events(conversation_id)[-1] == {"type": "WorkflowCompleted", "workflowId": str(run.pk),
                                                    "status": "completed", "output": run.output}

    status, body = order_chat.call("POST", "/resume-workflow", {
        "conversationId": conversation_id, "workflowId": str(run.pk), "values": {}}, key=key)
    assert (status, body["type"]) == (409, "AlreadyExists") and "completed" in body["message"]


def test_another_users_conversation_and_bad_bodies_are_refused(order_chat):
    _, key = order_chat.user()
    conversation_id = order_chat.conversation(key)
    order_chat.say(key, conversation_id, "ann")
    run = paused_run(conversation_id, "ask-order")
    _, stranger = order_chat.user()
    status, body = order_chat.call("POST", "/resume-workflow", {
        "conversationId": conversation_id, "workflowId": str(run.pk), "values": {"orderId": "x"}}, key=stranger)
    assert status == 403, body
    status, body = order_chat.call("POST", "/resume-workflow", {
        "conversationId": conversation_id, "workflowId": str(run.pk), "values": "ORD-1"}, key=key)
    assert (status, body["type"]) == (400, "InvalidPayload") and "values must be an object" in body["message"]
    status, body = order_chat.call("POST", "/resume-workflow", {
        "conversationId": conversation_id, "workflowId": "not-a-uuid", "values": {}}, key=key)
    assert status == 400 and "not a run id" in body["message"]


def test_the_progress_events_reach_the_outgoing_webhook_signed(order_chat, settings):
    """Every progress entry is an `event_created` signal, and every signal is also POSTed to
    the bot's webhook (webhooks.py): a backend follows the workflow without a listen stream."""
    import json

    from integrations.chat_api import services, webhooks
    from runtime.tests.receiver import receiver

    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]  # the receiver is local
    with receiver((200, {}, b"")) as rx:
        services.update_chat_api(order_chat.row.bot, webhook_url=rx.url + "/hook", webhook_secret="wf-s3cret")
        _, key = order_chat.user()
        conversation_id = order_chat.conversation(key)
        order_chat.say(key, conversation_id, "ann")
        run = paused_run(conversation_id, "ask-order")
        for step, values in (("ask-order", {"orderId": "ORD-7"}), ("ask-address", {
                "street": "1 Main St", "city": "Springfield", "zip": "62701"})):
            status, body = order_chat.call("POST", "/resume-workflow", {
                "conversationId": conversation_id, "workflowId": str(run.pk), "stepId": step, "values": values},
                key=key)
            assert status == 202, body
        expected = len(workflow_events(conversation_id))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            progress = [json.loads(r[3]) for r in rx.requests]
            progress = [s for s in progress if s["type"] == "event_created"
                        and s["data"]["payload"].get("type", "").startswith("Workflow")]
            if len(progress) >= expected:
                break
            time.sleep(0.1)
    for _, _, headers, body in rx.requests:
        assert webhooks.verify("wf-s3cret", headers["X-Chat-Webhook-Timestamp"], body,
                               headers["X-Chat-Webhook-Signature"])
    # Deliveries travel apart (a retry may come later): the receiver orders them by the id.
    progress.sort(key=lambda s: int(s["data"]["id"]))
    assert [s["data"]["payload"] for s in progress] == workflow_events(conversation_id)
    kinds = [s["data"]["payload"]["type"] for s in progress]
    assert kinds[0] == "WorkflowStarted" and kinds[-1] == "WorkflowCompleted"
    assert {"WorkflowStepStarted", "WorkflowInterventionRequired", "WorkflowStepCompleted"} <= set(kinds)
    assert all(s["data"]["conversationId"] == conversation_id for s in progress)
