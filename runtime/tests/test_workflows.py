"""Background workflows through the runtime, steps run in this process (CELERY_TASK_ALWAYS_EAGER):
the run table, the conversation's progress entries and events, provide's refusals, retry and
cancel. The same flow through real workers (and a kill -9) is tests/test_workflow_worker.py."""
import pytest

from runtime import turns, workflows
from runtime.models import Event, Message, WorkflowRun, WorkflowStep
from runtime.tests.bots import ORDER_REQUESTS, create_bot, order_workflow_bot

ADDRESS = {"street": "1 Main St", "city": "Springfield", "zip": "62701"}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def in_process(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


def progress(conversation):
    return [(m.payload["payload"]["type"], m.payload["payload"].get("stepId")) for m in workflow_entries(conversation)]


def workflow_entries(conversation):
    return [m for m in Message.objects.filter(conversation=conversation, type="event").order_by("seq")
            if m.payload["payload"].get("type", "").startswith("Workflow")]


def bot_events(conversation, kind):
    return [e.payload for e in Event.objects.filter(conversation=conversation, type=kind).order_by("seq")]


def start_order(definition=None):
    bot = create_bot(definition or order_workflow_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    turns.send_user_message(conversation, "ann")
    conversation.refresh_from_db()
    run = WorkflowRun.objects.get(conversation=conversation)
    return conversation, run


def test_the_order_workflow_asks_twice_notifies_and_completes():
    conversation, run = start_order()
    assert conversation.state["conversation"]["orderRun"] == str(run.pk)
    assert run.status == "paused" and run.inputs == {"customer": "ann"}
    intervention = Message.objects.filter(conversation=conversation, type="event",
                                          payload__payload__type="WorkflowInterventionRequired").get()
    intervention.payload = intervention.payload["payload"]
    assert intervention.payload["message"] == "Please provide the order ID."
    assert intervention.payload["requestType"] == "orderWorkflow:orderId"
    assert intervention.payload["dataPoints"] == [
        {"key": "orderId", "label": "Order id", "type": "Text", "required": True, "minLength": 1}]
    request = bot_events(conversation, "workflow_request")[0]
    assert request["type"] == "orderWorkflow:orderId" and request["stepId"] == "ask-order"

    workflows.provide(conversation, "orderId", {"orderId": "ORD-12345"}, step="ask-order")
    run.refresh_from_db()
    assert run.status == "paused" and run.current_step == "ask-address"
    address_form = Message.objects.filter(conversation=conversation, payload__payload__type="WorkflowInterventionRequired",
                                          payload__payload__stepId="ask-address").get()
    assert [(p["key"], p["label"], p["required"]) for p in address_form.payload["payload"]["dataPoints"]] == [
        ("street", "Street", True), ("city", "City", True), ("zip", "ZIP code", True)]

    workflows.resume(conversation, run.pk, "ask-address", ADDRESS)
    run.refresh_from_db()
    assert run.status == "completed"
    assert run.output == {"result": "ORD-12345 to Springfield"}
    assert progress(conversation) == [
        ("WorkflowStarted", None),
        ("WorkflowStepStarted", "ask-order"), ("WorkflowInterventionRequired", "ask-order"),
        ("WorkflowStepCompleted", "ask-order"),
        ("WorkflowStepStarted", "ask-address"), ("WorkflowInterventionRequired", "ask-address"),
        ("WorkflowStepCompleted", "ask-address"),
        ("WorkflowStepStarted", "process"), ("WorkflowStepCompleted", "process"),
        ("WorkflowCompleted", None),
    ]
    notified = bot_events(conversation, "workflow_notify")
    assert [(n["step"], n["payload"]["percentage"]) for n in notified] == [("progress-50", 50), ("progress-100", 100)]
    callback = bot_events(conversation, "workflow_callback")
    assert callback == [{"workflowId": str(run.pk), "name": "orderWorkflow", "status": "completed",
                         "output": {"result": "ORD-12345 to Springfield"}, "error": None}]
    # Every entry of the transcript has its own seq, in the order things happened.
    seqs = list(Message.objects.filter(conversation=conversation).order_by("seq").values_list("seq", flat=True))
    assert seqs == sorted(set(seqs))


def test_data_with_a_missing_field_is_refused_naming_it_and_the_run_stays_paused():
    conversation, run = start_order()
    workflows.provide(conversation, "orderWorkflow:orderId", {"orderId": "ORD-1"})
    with pytest.raises(workflows.WorkflowError) as info:
        workflows.provide(conversation, "shippingAddress", {"street": "1 Main St", "city": "Springfield"})
    assert info.value.errors == [{"field": "zip", "message": "is required"}]
    assert "zip: is required" in info.value.message
    with pytest.raises(workflows.WorkflowError, match="zip: '6270' does not match"):
        workflows.provide(conversation, "shippingAddress", {**ADDRESS, "zip": "6270"})
    run.refresh_from_db()
    assert run.status == "paused" and run.current_step == "ask-address"
    assert WorkflowStep.objects.get(run=run, node="ask-address").status == "paused"
    workflows.provide(conversation, "shippingAddress", ADDRESS)
    run.refresh_from_db()
    assert run.status == "completed"


def test_two_pending_steps_and_a_provide_without_a_step_is_a_clear_error():
    conversation, first = start_order()
    turns.send_user_message(conversation, "again")  # the dialog ended: main starts a second run
    second = WorkflowRun.objects.exclude(pk=first.pk).get(conversation=conversation)
    assert second.status == "paused"
    with pytest.raises(workflows.WorkflowError) as info:
        workflows.provide(conversation, "orderId", {"orderId": "ORD-1"})
    assert info.value.status == 409
    assert "2 steps are waiting for request 'orderId'" in info.value.message
    assert str(first.pk) in info.value.message and str(second.pk) in info.value.message
    for run in (first, second):
        run.refresh_from_db()
        assert run.status == "paused"
    workflows.provide(conversation, "orderId", {"orderId": "ORD-2"}, workflow_id=second.pk, step="ask-order")
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.current_step == "ask-address" and first.current_step == "ask-order"


def test_nothing_pending_is_a_clear_error():
    conversation, run = start_order()
    with pytest.raises(workflows.WorkflowError, match="no workflow of this conversation is waiting for request 'shippingAddress'"):
        workflows.provide(conversation, "shippingAddress", ADDRESS)


def test_a_failed_step_halts_the_run_and_a_retry_runs_it_again():
    definition = order_workflow_bot(process_code=(
        "if (!bot.fixed) { throw new Error('warehouse offline'); } workflow.result = 'shipped';"))
    conversation, run = start_order(definition)
    workflows.provide(conversation, "orderId", {"orderId": "ORD-1"})
    workflows.provide(conversation, "shippingAddress", ADDRESS)
    run.refresh_from_db()
    assert run.status == "failed" and "warehouse offline" in run.error
    failed = Message.objects.get(conversation=conversation, payload__payload__type="WorkflowStepFailed")
    assert failed.payload["payload"]["stepId"] == "process" and "warehouse offline" in failed.payload["payload"]["error"]
    assert bot_events(conversation, "workflow_callback")[0]["status"] == "failed"
    assert not bot_events(conversation, "workflow_notify")[1:]  # the failed step notified nothing

    with pytest.raises(workflows.WorkflowError, match="is already failed"):
        workflows.cancel(run)
    from runtime.models import BotVariable
    BotVariable.objects.create(bot=conversation.bot, is_draft=False, name="fixed", value=True)
    workflows.retry(run)
    run.refresh_from_db()
    assert run.status == "completed" and run.output == {"result": "shipped"}
    assert progress(conversation)[-3:] == [("WorkflowStepStarted", "process"), ("WorkflowStepCompleted", "process"),
                                           ("WorkflowCompleted", None)]
    with pytest.raises(workflows.WorkflowError, match="only a failed workflow can be retried"):
        workflows.retry(run)


def test_cancel_a_paused_run():
    conversation, run = start_order()
    workflows.cancel(run)
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert bot_events(conversation, "workflow_callback")[0]["status"] == "cancelled"
    assert progress(conversation)[-1] == ("WorkflowCompleted", None)
    with pytest.raises(workflows.WorkflowError, match="no workflow of this conversation is waiting"):
        workflows.provide(conversation, "orderId", {"orderId": "x"})


def test_a_reconnecting_client_gets_the_active_workflow_with_its_pending_form():
    conversation, run = start_order()
    active = workflows.active_workflows(conversation)
    assert active == [{"workflowId": str(run.pk), "name": "orderWorkflow", "status": "paused", "stepId": "ask-order",
                       "message": "Looking up your order",
                       "intervention": {"stepId": "ask-order", "message": "Please provide the order ID.",
                                        "request": "orderId", "dataPoints": [
                                            {"key": "orderId", "label": "Order id", "type": "Text", "required": True,
                                             "minLength": 1}],
                                        "schema": ORDER_REQUESTS["orderId"]}}]


def test_a_flow_reads_the_status_of_the_run_it_started():
    from runtime.engine.tests.workflow_bots import order_status_bot

    conversation, run = start_order(order_status_bot())
    outcome = turns.send_user_message(conversation, "where is it?")
    assert [o["text"] for o in outcome.outputs] == ["Your order is paused at ask-order."]
    workflows.provide(conversation, "orderId", {"orderId": "ORD-3"})
    workflows.provide(conversation, "shippingAddress", ADDRESS)
    run.refresh_from_db()
    assert run.status == "completed"
    outcome = turns.send_user_message(conversation, "and now?")
    assert [o["text"] for o in outcome.outputs][-1] == "Done: ORD-3 to Springfield"
