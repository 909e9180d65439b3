"""The order workflow bot (docs/workflows.md), shared by the engine's and the runtime's tests."""
import copy


def _flow(name, nodes, variables=()):
    return {"name": name, "variables": list(variables), "nodes": nodes}


def _bot(name, flows):
    return {"format": "flowstudio.bot/1", "name": name, "settings": {"inactivityTimeoutMinutes": 30},
            "variables": [], "flows": flows}



ORDER_REQUESTS = {
    "orderId": {"type": "object", "properties": {"orderId": {"type": "string", "minLength": 1}},
                "required": ["orderId"]},
    "shippingAddress": {
        "type": "object",
        "properties": {"street": {"type": "string", "title": "Street"}, "city": {"type": "string", "title": "City"},
                       "zip": {"type": "string", "title": "ZIP code", "pattern": "^[0-9]{5}$"}},
        "required": ["street", "city", "zip"],
    },
}


def order_workflow_bot(name="Orders", *, process_code="workflow.result = workflow.order.orderId + ' to ' + workflow.address.city;",
                       step_timeout=60):
    """The order workflow of docs/workflows.md: asks for the order id, then a 3-field shipping
    address, notifies 50% and 100% and completes with `result`. `main` starts it on any
    message and stores the run id in conversation.orderRun."""
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "go"},
            {"id": "go", "kind": "standard", "cards": [
                {"id": "start-order", "type": "startWorkflow", "workflow": "orderWorkflow",
                 "inputs": {"customer": "{{event.payload.text}}"}, "variable": "conversation.orderRun"},
                {"id": "started", "type": "text", "text": "Working on your order."},
            ], "next": None},
        ]),
        {"name": "orderWorkflow", "kind": "workflow", "stepTimeoutSeconds": step_timeout,
         # A copy: tests edit the bot they get (a bad schema) and must not edit the next one's.
         "requests": copy.deepcopy(ORDER_REQUESTS),
         "notifications": {"progress": {"type": "object", "properties": {
             "message": {"type": "string"}, "percentage": {"type": "number"}}, "required": ["message", "percentage"]}},
         "variables": [{"name": "customer", "type": "string", "input": True},
                       {"name": "result", "type": "string", "output": True}],
         "nodes": [
             {"id": "entry", "kind": "entry", "next": "ask-order"},
             {"id": "ask-order", "kind": "standard", "message": "Looking up your order", "next": "ask-address",
              "cards": [{"id": "req-order", "type": "workflowRequest", "request": "orderId",
                         "message": "Please provide the order ID.", "variable": "workflow.order"}]},
             {"id": "ask-address", "kind": "standard", "message": "Getting the shipping address", "next": "process",
              "cards": [{"id": "req-address", "type": "workflowRequest", "request": "shippingAddress",
                         "message": "Where should we ship this?", "variable": "workflow.address"},
                        {"id": "half", "type": "workflowNotify", "notification": "progress", "step": "progress-50",
                         "payload": {"message": "50% complete", "percentage": 50}}]},
             {"id": "process", "kind": "standard", "message": "Processing the order", "next": "done",
              "cards": [{"id": "work", "type": "code", "code": process_code},
                        {"id": "full", "type": "workflowNotify", "notification": "progress", "step": "progress-100",
                         "payload": {"message": "Order processed", "percentage": 100}}]},
             {"id": "done", "kind": "exit"},
         ]},
    ])


def order_status_bot():
    """The order workflow bot whose `main` checks the run it started (the `workflows` scope,
    docs/workflows.md "Workflow Status"): the first message starts it, every later one says
    where it is, and once completed its output."""
    definition = order_workflow_bot()
    run = "workflows[conversation.orderRun]"
    definition["flows"][0]["nodes"] = [
        {"id": "start", "kind": "start", "next": "route"},
        {"id": "route", "kind": "standard", "cards": [
            {"id": "has-run", "type": "expression", "condition": f"!!conversation.orderRun && !!{run}",
             "next": "status"},
            {"id": "start-order", "type": "startWorkflow", "workflow": "orderWorkflow",
             "inputs": {"customer": "{{event.payload.text}}"}, "variable": "conversation.orderRun"},
            {"id": "started", "type": "text", "text": "Working on your order."},
        ], "next": None},
        {"id": "status", "kind": "standard", "cards": [
            {"id": "is-done", "type": "expression", "condition": f"{run}.status === 'completed'", "next": "done"},
            {"id": "where", "type": "text", "text": f"Your order is {{{{{run}.status}}}} at {{{{{run}.stepId}}}}."},
        ], "next": None},
        {"id": "done", "kind": "standard", "cards": [
            {"id": "result", "type": "text", "text": f"Done: {{{{{run}.output.result}}}}"}], "next": None},
    ]
    return definition
