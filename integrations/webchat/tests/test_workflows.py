"""Background workflows over the webchat websocket (docs/workflows.md): the progress events
arrive as event frames in seq order with the messages, the form goes back as a
`resume_workflow` frame (a missing field is an `invalid_workflow_data` error naming it, the
run stays paused), and a reconnecting widget gets the pending form in `activeWorkflows`."""
import pytest
from channels.db import database_sync_to_async

from runtime.models import WorkflowRun
from runtime.tests.bots import order_workflow_bot

from .helpers import communicator, create_bot, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def hello(comm, **fields):
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "hello", **fields})
    ready = await comm.receive_json_from(timeout=10)
    assert ready["type"] == "ready", ready
    return ready


def workflow_event(frame, name, step=None):
    if frame["type"] != "message" or frame["message"]["type"] != "event":
        return False
    payload = frame["message"]["payload"]["payload"]
    return payload.get("type") == name and (step is None or payload.get("stepId") == step)


async def test_the_order_workflow_in_the_widget(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # steps run in the server process (no worker)
    bot = await database_sync_to_async(create_bot)(order_workflow_bot())
    comm = communicator(bot.pk)
    ready = await hello(comm)
    assert ready["activeWorkflows"] == []
    await comm.send_json_to({"type": "message", "clientId": "m1", "payload": {"type": "text", "text": "ann"}})
    frames = await receive_until(comm, lambda f: workflow_event(f, "WorkflowInterventionRequired", "ask-order"))
    names = [f["message"]["payload"]["payload"]["type"] for f in frames
             if f["type"] == "message" and f["message"]["type"] == "event"
             and f["message"]["payload"]["payload"]["type"].startswith("Workflow")]
    assert names == ["WorkflowStarted", "WorkflowStepStarted", "WorkflowInterventionRequired"]
    seqs = [f["seq"] for f in frames if f["type"] == "message"]
    assert seqs == sorted(seqs)
    form = frames[-1]["message"]["payload"]["payload"]
    run_id = form["workflowId"]

    await comm.send_json_to({"type": "resume_workflow", "clientId": "r1", "workflowId": run_id,
                             "stepId": "ask-order", "values": {"orderId": "ORD-3"}})
    frames = await receive_until(comm, lambda f: workflow_event(f, "WorkflowInterventionRequired", "ask-address"))
    assert any(f["type"] == "ack" and f.get("clientId") == "r1" for f in frames)
    await comm.disconnect()

    # A reload: the same conversation, the pending form comes back with the ready frame.
    again = communicator(bot.pk)
    ready = await hello(again, conversationId=ready["conversationId"], userKey=ready["userKey"])
    [active] = ready["activeWorkflows"]
    assert active["workflowId"] == run_id and active["status"] == "paused"
    assert active["intervention"]["stepId"] == "ask-address"
    assert [p["key"] for p in active["intervention"]["dataPoints"]] == ["street", "city", "zip"]

    await again.send_json_to({"type": "resume_workflow", "clientId": "r2", "workflowId": run_id,
                              "stepId": "ask-address", "values": {"street": "1 Main St", "city": "Springfield"}})
    error = (await receive_until(again, lambda f: f["type"] == "error"))[-1]
    assert error["type"] == "error" and error["code"] == "invalid_workflow_data" and error["clientId"] == "r2"
    assert error["errors"] == [{"field": "zip", "message": "is required"}]
    run = await database_sync_to_async(WorkflowRun.objects.get)(pk=run_id)
    assert run.status == "paused"

    await again.send_json_to({"type": "resume_workflow", "clientId": "r3", "workflowId": run_id,
                              "stepId": "ask-address",
                              "values": {"street": "1 Main St", "city": "Springfield", "zip": "62701"}})
    frames = await receive_until(again, lambda f: workflow_event(f, "WorkflowCompleted"))
    assert frames[-1]["message"]["payload"]["payload"]["output"] == {"result": "ORD-3 to Springfield"}
    await again.disconnect()


async def test_a_failed_step_is_retried_from_the_widget(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    bot = await database_sync_to_async(create_bot)(order_workflow_bot(process_code="throw new Error('warehouse offline');"))
    comm = communicator(bot.pk)
    await hello(comm)
    await comm.send_json_to({"type": "retry_workflow", "clientId": "early"})
    error = (await receive_until(comm, lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "bad_request" and error["message"] == "retry_workflow needs the workflowId"
    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "ann"}})
    form = (await receive_until(comm, lambda f: workflow_event(f, "WorkflowInterventionRequired")))[-1]
    run_id = form["message"]["payload"]["payload"]["workflowId"]
    # A paused run has not failed: nothing to retry.
    await comm.send_json_to({"type": "retry_workflow", "clientId": "paused", "workflowId": run_id})
    error = (await receive_until(comm, lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "invalid_workflow_data" and error["clientId"] == "paused"
    assert "only a failed workflow can be retried" in error["message"]
    await comm.send_json_to({"type": "resume_workflow", "workflowId": run_id, "stepId": "ask-order",
                             "values": {"orderId": "ORD-1"}})
    await receive_until(comm, lambda f: workflow_event(f, "WorkflowInterventionRequired", "ask-address"))
    await comm.send_json_to({"type": "resume_workflow", "workflowId": run_id, "stepId": "ask-address",
                             "values": {"street": "1 Main St", "city": "Springfield", "zip": "62701"}})
    failed = (await receive_until(comm, lambda f: workflow_event(f, "WorkflowStepFailed")))[-1]
    assert "warehouse offline" in failed["message"]["payload"]["payload"]["error"]

    await comm.send_json_to({"type": "retry_workflow", "clientId": "again", "workflowId": run_id})
    frames = await receive_until(comm, lambda f: workflow_event(f, "WorkflowStepFailed"))
    [ack] = [f for f in frames if f["type"] == "ack" and f.get("clientId") == "again"]
    assert ack["workflowId"] == run_id and ack["stepId"] == "process"
    assert [f["message"]["payload"]["payload"]["retry"] for f in frames if workflow_event(f, "WorkflowStepStarted")] == [True]
    await comm.disconnect()
