"""Background workflow cards (docs/workflows.md).

Conversation side:
- Start Workflow starts a run of a workflow flow with inputs and puts its id in a variable.
  The run itself is created by the runtime from the card's custom event (`payload.type`
  `workflow_start`, stored in the transcript with the turn). With
  `wait` the dialog suspends on the card until the run's `workflow_callback` event arrives.
- Provide sends data back to a paused run (custom event `workflow_provide`, applied by the runtime
  after the turn is stored: it validates the data against the request's schema).

Workflow side (in a workflow's steps, run by runtime/engine/workflow.py):
- Request pauses the step and asks the conversation for data (`workflow_request` output);
  the step resumes on that card with the provided data, stored in its variable.
- Notify sends a payload to the conversation without pausing (`workflow_notify` output).

The engine emits these as outputs only; nothing here touches a database.
"""
import uuid

from pydantic import Field

from ..events import CUSTOM_EVENT
from ..expressions import UNDEFINED
from ..templates import compile_json_template, compile_template
from .base import CONTINUE, SUSPEND, Card, CardConfig, CardFamily, register
from .fields import IDENTIFIER_PATTERN, NODE_ID_PATTERN, ObjectTemplate, TemplateStr

VARIABLE_REF = r"^(workflow|user|bot|session|conversation)\.[A-Za-z_][A-Za-z0-9_]{0,63}$"
WORKFLOW_CALLBACK = "workflow_callback"
WORKFLOW_PROVIDE = "workflow_provide"
WORKFLOW_START = "workflow_start"
# Card types allowed only on one side (flows/botfile and build.py refuse the other side).
CONVERSATION_ONLY = ("startWorkflow", "workflowProvide")
WORKFLOW_ONLY = ("workflowRequest", "workflowNotify")


class _Start(Card):
    __slots__ = ("workflow", "inputs", "variable", "wait", "result")
    suspends = True

    def __init__(self, workflow, inputs, variable, wait, result):
        self.workflow, self.inputs, self.variable, self.wait, self.result = workflow, inputs, variable, wait, result

    def run(self, rt):
        workflow_id = str(uuid.uuid4())
        # An expression that found nothing (undefined) is no input: the variable keeps its default.
        inputs = {name: value for name, template in self.inputs.items()
                  if (value := rt.value(template)) is not UNDEFINED}
        if self.variable:
            rt.set_variable(self.variable, workflow_id)
        if self.wait:
            rt.card_memory()["workflowId"] = workflow_id
        # A custom event: stored with the turn, shown to clients as one, acted on by the runtime.
        rt.emit({"type": CUSTOM_EVENT, "payload": {"type": WORKFLOW_START, "workflowId": workflow_id,
                                                   "workflow": self.workflow, "inputs": inputs, "card": self.id}})
        rt.add_trace("workflow_started", workflowId=workflow_id, workflow=self.workflow)
        return SUSPEND if self.wait else CONTINUE

    def resume(self, rt):
        """Called for the run's callback (turn.py checks the id) or a user message: a message
        does not end the wait, the card keeps waiting for its run."""
        event = rt.event
        payload = event.get("payload") or {}
        if event.get("type") != WORKFLOW_CALLBACK or payload.get("workflowId") != rt.card_memory().get("workflowId"):
            return SUSPEND
        if self.result:
            rt.set_variable(self.result, {"status": payload.get("status"), "output": payload.get("output")})
        return CONTINUE


class _Provide(Card):
    __slots__ = ("request", "data", "workflow_id", "step")

    def __init__(self, request, data, workflow_id, step):
        self.request, self.data, self.workflow_id, self.step = request, data, workflow_id, step

    def run(self, rt):
        data = rt.value(self.data)
        output = {"type": WORKFLOW_PROVIDE, "request": rt.render(self.request), "data": data,
                  "workflowId": rt.render(self.workflow_id) or None, "step": rt.render(self.step) or None,
                  "card": self.id}
        rt.emit({"type": CUSTOM_EVENT, "payload": output})
        rt.add_trace("workflow_provided", request=output["request"], workflowId=output["workflowId"],
                     step=output["step"])
        return CONTINUE


class _Request(Card):
    __slots__ = ("request", "message", "variable")
    suspends = True

    def __init__(self, request, message, variable):
        self.request, self.message, self.variable = request, message, variable

    def run(self, rt):
        rt.emit({"type": "workflow_request", "request": self.request, "message": rt.render(self.message),
                 "card": self.id})
        return SUSPEND

    def resume(self, rt):
        # The runtime validated the data against the request's schema before resuming.
        data = (rt.event.get("payload") or {}).get("data")
        rt.set_variable(self.variable or f"workflow.{self.request}", data)
        return CONTINUE


class _Notify(Card):
    __slots__ = ("notification", "payload", "step")

    def __init__(self, notification, payload, step):
        self.notification, self.payload, self.step = notification, payload, step

    def run(self, rt):
        rt.emit({"type": "workflow_notify", "notification": self.notification, "payload": rt.value(self.payload),
                 "step": self.step or None, "card": self.id})
        return CONTINUE


@register
class StartWorkflowCard(CardFamily):
    types = ("startWorkflow",)
    label = "Start Workflow"
    category = "Flow Logic"

    class Config(CardConfig):
        workflow: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", title="Workflow",
                              description="The background workflow (a flow of kind workflow) to start.",
                              json_schema_extra={"x-options": "flows"})
        inputs: dict[str, TemplateStr] = Field(
            default_factory=dict, title="Inputs",
            description="A value for each input variable of the workflow; {{ expr }} alone keeps its type.")
        variable: str | None = Field(default=None, pattern=VARIABLE_REF, title="Store the run id in",
                                     description="A variable that gets the new run's id (workflowId).")
        wait: bool = Field(default=False, title="Wait for completion",
                           description="Pause this conversation flow until the workflow ends.")
        result: str | None = Field(default=None, pattern=VARIABLE_REF, title="Store the result in",
                                   description="With wait: gets {status, output} when the workflow ends.")

    def compile(self, card_type, config, ctx):
        return _Start(config.workflow, {k: compile_template(v) for k, v in config.inputs.items()},
                      config.variable, config.wait, config.result)


@register
class ProvideCard(CardFamily):
    types = ("workflowProvide",)
    label = "Provide to Workflow"
    category = "Flow Logic"

    class Config(CardConfig):
        request: TemplateStr = Field(default="{{event.payload.request}}", min_length=1, max_length=200,
                                     title="Request", description="The request's name (orderId), as the workflow declares it.")
        data: ObjectTemplate = Field(title="Data", description="The data, checked against the request's schema.")
        workflow_id: TemplateStr = Field(default="{{event.payload.workflowId}}", max_length=200, title="Run id",
                                         description="Which run; empty: the conversation's only run waiting for this request.")
        step: TemplateStr = Field(default="{{event.payload.stepId}}", max_length=200, title="Step",
                                  description="Which pending step; empty: the only one pending for this request.")

    def compile(self, card_type, config, ctx):
        return _Provide(compile_template(config.request), compile_json_template(config.data),
                        compile_template(config.workflow_id), compile_template(config.step))


@register
class RequestCard(CardFamily):
    types = ("workflowRequest",)
    label = "Request Data"
    category = "Flow Logic"

    class Config(CardConfig):
        request: str = Field(pattern=IDENTIFIER_PATTERN, title="Request",
                             description="One of the workflow's declared requests; its schema is the form.")
        message: TemplateStr = Field(default="", max_length=4_000, title="Prompt",
                                     description="What the conversation is asked, e.g. Please provide the order ID.")
        variable: str | None = Field(default=None, pattern=VARIABLE_REF, title="Store the data in",
                                     description="Where the provided data goes; empty: workflow.<request>.")

    def compile(self, card_type, config, ctx):
        return _Request(config.request, compile_template(config.message), config.variable)


@register
class NotifyCard(CardFamily):
    types = ("workflowNotify",)
    label = "Notify Conversation"
    category = "Flow Logic"

    class Config(CardConfig):
        notification: str = Field(pattern=IDENTIFIER_PATTERN, title="Notification",
                                  description="One of the workflow's declared notifications.")
        payload: ObjectTemplate = Field(title="Payload", description="Checked against the notification's schema.")
        step: str | None = Field(default=None, pattern=NODE_ID_PATTERN, title="Step name",
                                 description="A unique name when one notification is sent several times (progress-50).")

    def compile(self, card_type, config, ctx):
        return _Notify(config.notification, compile_json_template(config.payload), config.step)
