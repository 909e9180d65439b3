"""Background workflows in the emulator (docs/emulator.md, docs/workflows.md): the draft's run
reports its progress as event frames in seq order, the panel's form goes back as a
`resume_workflow` frame (a missing field is an `invalid_workflow_data` error naming it and the
run stays paused), a reload gets the pending form in the ready frame's `activeWorkflows`, and
a failed step is run again with `retry_workflow`. The steps and the turns they cause run in a
real Celery worker on the loopback Redis (a step run inline in the socket's database thread
would wait on that very thread)."""
import uuid

import pytest
from channels.db import database_sync_to_async

from integrations.chat_api.tests.server import celery_worker
from runtime.models import WorkflowRun
from runtime.tests.bots import order_workflow_bot

from .test_emulator_protocol import _setup, communicator, hello
from .test_emulator_protocol import receive_until as _receive_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def worker(settings, tmp_path):
    """A Celery worker on a queue of its own that shares this test's channel-layer prefix, so
    the progress it commits pokes the emulator sockets opened here."""
    from channels.layers import channel_layers

    prefix = f"test-emuwf-{uuid.uuid4().hex[:8]}."
    settings.CHANNEL_LAYERS = {"default": {**settings.CHANNEL_LAYERS["default"], "CONFIG": {
        **settings.CHANNEL_LAYERS["default"]["CONFIG"], "prefix": prefix}}}
    channel_layers.backends.clear()
    with celery_worker(tmp_path, CHANNEL_LAYER_PREFIX=prefix) as queue:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.FLOWSTUDIO_WORKFLOW_QUEUE = queue
        yield queue
    channel_layers.backends.clear()


async def receive_until(comm, predicate):
    # The worker may still be starting (a few seconds, more on a loaded machine).
    return await _receive_until(comm, predicate, timeout=60)


def progress(frame, name, step=None):
    if frame["type"] != "message" or frame["message"]["type"] != "event":
        return False
    payload = frame["message"]["payload"]["payload"]
    return payload.get("type") == name and (step is None or payload.get("stepId") == step)


def progress_names(frames):
    return [f["message"]["payload"]["payload"]["type"] for f in frames
            if f["type"] == "message" and f["message"]["type"] == "event"
            and str(f["message"]["payload"]["payload"].get("type", "")).startswith("Workflow")]


async def test_the_order_workflow_in_the_emulator(worker):
    bot, cookie = await database_sync_to_async(_setup)(order_workflow_bot())
    comm = communicator(bot.pk, cookie)
    ready = await hello(comm)
    assert ready["activeWorkflows"] == []
    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "ann"}})
    frames = await receive_until(comm, lambda f: progress(f, "WorkflowInterventionRequired", "ask-order"))
    assert progress_names(frames) == ["WorkflowStarted", "WorkflowStepStarted", "WorkflowInterventionRequired"]
    run_id = frames[-1]["message"]["payload"]["payload"]["workflowId"]

    await comm.send_json_to({"type": "resume_workflow", "clientId": "r1", "workflowId": run_id,
                             "stepId": "ask-order", "values": {"orderId": "ORD-9"}})
    frames = await receive_until(comm, lambda f: progress(f, "WorkflowInterventionRequired", "ask-address"))
    [ack] = [f for f in frames if f["type"] == "ack" and f.get("clientId") == "r1"]
    assert ack["workflowId"] == run_id and ack["stepId"] == "ask-order" and isinstance(ack["seq"], int)
    await comm.disconnect()

    # A reload of the editor: the panel continues the conversation and gets the pending form.
    again = communicator(bot.pk, cookie)
    ready = await hello(again, conversationId=ready["conversationId"])
    [active] = ready["activeWorkflows"]
    assert active["workflowId"] == run_id and active["name"] == "orderWorkflow" and active["status"] == "paused"
    assert active["intervention"]["message"] == "Where should we ship this?"
    assert [p["key"] for p in active["intervention"]["dataPoints"]] == ["street", "city", "zip"]

    await again.send_json_to({"type": "resume_workflow", "clientId": "r2", "workflowId": run_id,
                              "stepId": "ask-address", "values": {"street": "1 Main St", "city": "Springfield"}})
    error = (await receive_until(again, lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "invalid_workflow_data" and error["clientId"] == "r2"
    assert error["errors"] == [{"field": "zip", "message": "is required"}]
    assert "zip" in error["message"]
    assert (await database_sync_to_async(WorkflowRun.objects.get)(pk=run_id)).status == "paused"

    await again.send_json_to({"type": "resume_workflow", "clientId": "r3", "workflowId": run_id, "stepId": "ask-address",
                              "values": {"street": "1 Main St", "city": "Springfield", "zip": "62701"}})
    frames = await receive_until(again, lambda f: progress(f, "WorkflowCompleted"))
    assert progress_names(frames)[-3:] == ["WorkflowStepStarted", "WorkflowStepCompleted", "WorkflowCompleted"]
    assert frames[-1]["message"]["payload"]["payload"]["output"] == {"result": "ORD-9 to Springfield"}
    await again.disconnect()


async def test_a_failed_step_is_retried_from_the_panel(worker):
    bot, cookie = await database_sync_to_async(_setup)(
        order_workflow_bot(process_code="throw new Error('warehouse offline');"))
    comm = communicator(bot.pk, cookie)
    await hello(comm)
    await comm.send_json_to({"type": "message", "payload": {"type": "text", "text": "ann"}})
    run_id = (await receive_until(comm, lambda f: progress(f, "WorkflowInterventionRequired")))[-1][
        "message"]["payload"]["payload"]["workflowId"]
    for step, values in (("ask-order", {"orderId": "ORD-1"}),
                         ("ask-address", {"street": "1 Main St", "city": "Springfield", "zip": "62701"})):
        await comm.send_json_to({"type": "resume_workflow", "workflowId": run_id, "stepId": step, "values": values})
        if step == "ask-order":
            await receive_until(comm, lambda f: progress(f, "WorkflowInterventionRequired", "ask-address"))
    failed = (await receive_until(comm, lambda f: progress(f, "WorkflowStepFailed")))[-1]["message"]["payload"]["payload"]
    assert failed["stepId"] == "process" and "warehouse offline" in failed["error"]

    await comm.send_json_to({"type": "retry_workflow", "clientId": "again", "workflowId": run_id})
    frames = await receive_until(comm, lambda f: progress(f, "WorkflowStepFailed"))
    [ack] = [f for f in frames if f["type"] == "ack" and f.get("clientId") == "again"]
    assert ack["stepId"] == "process"
    [restarted] = [f["message"]["payload"]["payload"] for f in frames if progress(f, "WorkflowStepStarted", "process")]
    assert restarted["retry"] is True

    # Only a failed run can be retried, and a frame without the run's id is malformed.
    await comm.send_json_to({"type": "resume_workflow", "clientId": "late", "workflowId": run_id,
                             "stepId": "process", "values": {}})
    error = (await receive_until(comm, lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "invalid_workflow_data" and "not waiting for data" in error["message"]
    await comm.send_json_to({"type": "retry_workflow", "clientId": "bad"})
    error = (await receive_until(comm, lambda f: f["type"] == "error"))[-1]
    assert error == {"type": "error", "seq": error["seq"], "code": "bad_request",
                     "message": "retry_workflow needs the workflowId", "clientId": "bad"}
    await comm.disconnect()
