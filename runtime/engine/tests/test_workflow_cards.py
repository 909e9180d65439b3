"""Background workflow cards and steps in the pure engine (docs/workflows.md)."""
import copy

import pytest

from runtime.engine import BuildError, TurnInput, compile_bot, run_turn
from runtime.engine.workflow import first_step, initial_variables, run_step, WorkflowInputError
from runtime.engine.tests.workflow_bots import order_workflow_bot


def _problems(definition):
    with pytest.raises(BuildError) as info:
        compile_bot(definition)
    return {p.path: p.message for p in info.value.problems}


def test_the_order_workflow_runs_step_by_step_pausing_on_each_request():
    build = compile_bot(order_workflow_bot())
    variables = initial_variables(build, "orderWorkflow", {"customer": "ann"})
    step = first_step(build, "orderWorkflow")
    assert step == "ask-order"
    paused = run_step(build, "orderWorkflow", step, variables)
    assert paused.status == "paused"
    assert paused.request == {"name": "orderId", "message": "Please provide the order ID.", "card": "req-order"}
    resumed = run_step(build, "orderWorkflow", step, paused.variables, resume_card="req-order",
                       provided={"request": "orderId", "data": {"orderId": "ORD-1"}})
    assert resumed.status == "completed" and resumed.next == "ask-address"
    assert resumed.variables["order"] == {"orderId": "ORD-1"}
    second = run_step(build, "orderWorkflow", "ask-address", resumed.variables)
    assert second.status == "paused" and second.request["name"] == "shippingAddress"
    second = run_step(build, "orderWorkflow", "ask-address", second.variables, resume_card="req-address",
                      provided={"data": {"street": "1 Main St", "city": "Springfield", "zip": "62701"}})
    assert second.next == "process"
    assert [o["type"] for o in second.outputs] == ["workflow_notify"]
    assert second.outputs[0]["payload"] == {"message": "50% complete", "percentage": 50}
    assert second.outputs[0]["step"] == "progress-50"
    last = run_step(build, "orderWorkflow", "process", second.variables)
    assert last.status == "completed" and last.next == "done"
    assert last.variables["result"] == "ORD-1 to Springfield"


def test_a_failing_card_fails_the_step_with_its_error():
    build = compile_bot(order_workflow_bot(process_code="throw new Error('warehouse offline')"))
    result = run_step(build, "orderWorkflow", "process", {"order": {"orderId": "x"}, "address": {"city": "y"}})
    assert result.status == "failed" and "warehouse offline" in result.error


def test_a_step_over_its_budget_fails():
    build = compile_bot(order_workflow_bot(process_code="while (true) {}"))
    result = run_step(build, "orderWorkflow", "process", {}, budget_ms=300)
    assert result.status == "failed" and "budget" in result.error


def test_start_workflow_puts_the_run_id_in_its_variable_and_emits_the_start():
    build = compile_bot(order_workflow_bot())
    result = run_turn(build, TurnInput(state={}, event={"type": "text", "payload": {"text": "ann"}}))
    assert result.outputs[0]["type"] == "event"
    start = result.outputs[0]["payload"]
    assert start["type"] == "workflow_start" and start["workflow"] == "orderWorkflow"
    assert start["inputs"] == {"customer": "ann"}
    assert result.state["conversation"]["orderRun"] == start["workflowId"]
    assert result.outputs[1]["text"] == "Working on your order."


def test_a_start_workflow_card_that_waits_goes_on_at_the_callback_of_its_run():
    definition = order_workflow_bot()
    cards = definition["flows"][0]["nodes"][1]["cards"]
    cards[0].update(wait=True, result="conversation.outcome")
    build = compile_bot(definition)
    first = run_turn(build, TurnInput(state={}, event={"type": "text", "payload": {"text": "ann"}}))
    assert first.waiting and len(first.outputs) == 1
    run_id = first.outputs[0]["payload"]["workflowId"]
    other = run_turn(build, TurnInput(state=first.state, event={"type": "workflow_callback", "payload": {
        "workflowId": "someone-else", "status": "completed", "output": {}}}))
    assert other.outputs == [] and other.state["waiting"] == "start-order"
    done = run_turn(build, TurnInput(state=first.state, event={"type": "workflow_callback", "payload": {
        "workflowId": run_id, "status": "completed", "output": {"result": "ok"}}}))
    assert [o.get("text") for o in done.outputs] == ["Working on your order."]
    assert done.state["conversation"]["outcome"] == {"status": "completed", "output": {"result": "ok"}}


def test_inputs_are_checked_against_the_input_variables():
    build = compile_bot(order_workflow_bot())
    with pytest.raises(WorkflowInputError, match="'nope' is not an input variable of workflow 'orderWorkflow'"):
        initial_variables(build, "orderWorkflow", {"nope": 1})
    with pytest.raises(WorkflowInputError, match="input 'customer'"):
        initial_variables(build, "orderWorkflow", {"customer": 12})


def test_bot_file_errors_name_the_json_path():
    definition = order_workflow_bot()
    wf = definition["flows"][1]
    wf["requests"]["orderId"] = {"type": "objekt"}
    wf["nodes"][3]["cards"][1]["notification"] = "progres"
    definition["flows"][0]["nodes"][1]["cards"][0]["workflow"] = "nope"
    definition["flows"][0]["nodes"][1]["cards"].append({"id": "ask", "type": "workflowRequest", "request": "orderId"})
    problems = _problems(definition)
    assert "invalid JSON Schema" in problems["$.flows[1].requests.orderId.type"]
    assert "declares no notification 'progres'" in problems["$.flows[1].nodes[3].cards[1].notification"]
    assert "no workflow named 'nope'" in problems["$.flows[0].nodes[1].cards[0].workflow"]
    assert "belongs in a workflow's steps" in problems["$.flows[0].nodes[1].cards[2].type"]


def test_a_conversation_card_in_a_workflow_and_a_call_to_a_workflow_are_refused():
    definition = order_workflow_bot()
    definition["flows"][1]["nodes"][1]["cards"].append({"id": "s", "type": "startWorkflow", "workflow": "orderWorkflow"})
    definition["flows"][0]["nodes"][1]["cards"].append({"id": "c", "type": "call", "flow": "orderWorkflow", "name": "x"})
    problems = _problems(definition)
    assert "belongs in a conversation flow" in problems["$.flows[1].nodes[1].cards[1].type"]
    assert "start it with a startWorkflow card" in problems["$.flows[0].nodes[1].cards[2].flow"]


def test_flows_check_a_run_through_the_workflows_scope():
    from runtime.engine.tests.workflow_bots import order_status_bot

    build = compile_bot(order_status_bot())
    first = run_turn(build, TurnInput(state={}, event={"type": "text", "payload": {"text": "ann"}}))
    run_id = first.state["conversation"]["orderRun"]
    assert [o.get("text") for o in first.outputs][-1] == "Working on your order."
    paused = {run_id: {"status": "paused", "name": "orderWorkflow", "stepId": "ask-address", "output": None,
                       "error": None}}
    asked = run_turn(build, TurnInput(state=first.state, event={"type": "text", "payload": {"text": "where?"}},
                                      workflows=paused))
    assert [o["text"] for o in asked.outputs] == ["Your order is paused at ask-address."]
    done = {run_id: {**paused[run_id], "status": "completed", "stepId": "done",
                     "output": {"result": "ORD-1 to Springfield"}}}
    told = run_turn(build, TurnInput(state=first.state, event={"type": "text", "payload": {"text": "and now?"}},
                                     workflows=done))
    assert [o["text"] for o in told.outputs] == ["Done: ORD-1 to Springfield"]
    # Read only: code writing to it changes nothing the next turn sees (nothing is kept).
    assert "workflows" not in told.state
