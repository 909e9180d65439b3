"""Background workflows: runs, their steps, and what they tell the conversation
(docs/workflows.md). Every operation is a plain function here; the Celery tasks
(`runtime.tasks.run_workflow_step`, `recover_workflows`), the REST views and the turn's
subscriber only call them.

Durability: a step runs in a worker under a lease on the run row. Its results (variables,
next step, the conversation's events) are committed in one transaction and only by the
attempt that holds the lease, so a worker killed mid-step commits nothing; `recover` runs
the step again from its start once the lease has expired.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from flows import services as flow_services
from flows.models import Bot, ConfigValue
from runtime import delivery, table_gateway, turns
from runtime.engine.events import WORKFLOW_CALLBACK, WORKFLOW_NOTIFY, WORKFLOW_REQUEST
from runtime.engine.workflow import (WorkflowInputError, data_points, first_step, initial_variables, next_step,
                                     outputs_of, run_step)
from runtime.engine.cards.workflows import WORKFLOW_PROVIDE, WORKFLOW_START
from runtime.models import EVENT_MESSAGE_TYPE, BotVariable, Conversation, Message, WorkflowRun, WorkflowStep

logger = logging.getLogger(__name__)

Run, Step = WorkflowRun.Status, WorkflowStep.Status
# Clients see a run's progress as custom events from the bot in the transcript (Message type
# "event", payload `{"payload": {"type": "WorkflowStarted", ...}}`): the webchat and the
# emulator get them as event frames, the Chat API as `event_created`, in seq order.
MESSAGE_TYPE = EVENT_MESSAGE_TYPE
# The cards' custom events the runtime acts on (runtime/engine/cards/workflows.py).
START_OUTPUT, PROVIDE_OUTPUT = WORKFLOW_START, WORKFLOW_PROVIDE
ACTIVE = (Run.RUNNING, Run.PAUSED)


class WorkflowError(ValueError):
    """A clear refusal (unknown run, nothing pending, several pending, bad data...)."""

    def __init__(self, message: str, *, errors: list[dict] | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.status = status


def lease_grace() -> float:
    return float(getattr(settings, "FLOWSTUDIO_WORKFLOW_LEASE_GRACE_SECONDS", 10.0))


# ---- builds ---------------------------------------------------------------------------------------

def _loaded(run: WorkflowRun):
    if run.is_draft:
        return flow_services.get_build(Bot(pk=run.bot_id), draft=True)
    # Published versions never change: the turn service's per-process cache of pinned builds
    # serves runs too, so a step reads no version row (its definition is large).
    loaded = turns.cached_pinned_build(run.bot_id, run.version_id)
    if loaded is None:
        loaded = flow_services.get_version_build(run.version)
        with turns._pinned_lock:
            turns._pinned_builds[(run.bot_id, run.version_id)] = loaded
            while len(turns._pinned_builds) > turns._PINNED_BUILDS_SIZE:
                turns._pinned_builds.popitem(last=False)
    return loaded


# ---- starting ----------------------------------------------------------------------------------------

def start(conversation: Conversation, name: str, inputs: dict | None = None, *,
          workflow_id: str | None = None) -> WorkflowRun:
    """Start a run of workflow `name` for `conversation`. Idempotent by `workflow_id` (the
    Start Workflow card's id): a second call returns the run the first one made."""
    run_id = uuid.UUID(str(workflow_id)) if workflow_id else uuid.uuid4()
    existing = WorkflowRun.objects.filter(pk=run_id).first()
    if existing is not None:
        return existing
    loaded = flow_services.get_build(Bot(pk=conversation.bot_id), draft=conversation.is_draft)
    try:
        variables = initial_variables(loaded.build, name, inputs or {})
        step = first_step(loaded.build, name)
    except WorkflowInputError as exc:
        raise WorkflowError(str(exc)) from None
    now = timezone.now()
    with transaction.atomic():
        run, created = WorkflowRun.objects.get_or_create(pk=run_id, defaults=dict(
            bot_id=conversation.bot_id, conversation=conversation, name=name, is_draft=conversation.is_draft,
            version=loaded.version, inputs=dict(inputs or {}), variables=variables,
            current_step=step or "", status=Run.RUNNING if step else Run.COMPLETED,
            finished_at=None if step else now))
        if not created:
            return run
        _post(conversation, [_event("WorkflowStarted", workflowId=str(run.pk), name=name)])
        if step is None:  # a workflow without steps is done at once
            _complete(run, loaded.build, conversation)
        else:
            _enqueue_on_commit(run.pk)
    return run


def on_turn_outputs(conversation, messages: list) -> None:
    """Delivery subscriber: act on the Start Workflow and Provide cards' custom events once the
    turn that emitted them is committed (they are stored in the transcript with it)."""
    wanted = []
    for message in messages:
        if message.direction != Message.Direction.OUTGOING or message.type != EVENT_MESSAGE_TYPE:
            continue
        payload = (message.payload or {}).get("payload")
        if isinstance(payload, dict) and payload.get("type") in (START_OUTPUT, PROVIDE_OUTPUT):
            wanted.append(payload)
    if not wanted:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        _apply_outputs(conversation, wanted)
        return
    # Called on the event loop of the asynchronous turn executor: no ORM there, a thread does it.
    threading.Thread(target=_apply_outputs_in_thread, args=(conversation, wanted), daemon=True,
                     name="workflow-outputs").start()


def _apply_outputs_in_thread(conversation, payloads: list[dict]) -> None:
    try:
        _apply_outputs(conversation, payloads)
    finally:
        connection.close()


def _apply_outputs(conversation, payloads: list[dict]) -> None:
    for payload in payloads:
        try:
            if payload.get("type") == START_OUTPUT:
                start(conversation, payload.get("workflow"), payload.get("inputs") or {},
                      workflow_id=payload.get("workflowId"))
            else:
                provide(conversation, payload.get("request") or "", payload.get("data"),
                        workflow_id=payload.get("workflowId"), step=payload.get("step"))
        except WorkflowError as exc:
            # The bot's own card asked for something impossible: its builder reads it in the logs.
            logger.warning("card %s of conversation %s: %s", payload.get("card"), conversation.pk, exc.message)
        except Exception:
            logger.exception("card %s of conversation %s: acting on %s failed", payload.get("card"),
                             conversation.pk, payload.get("type"))


# ---- running one step -----------------------------------------------------------------------------------

def execute(run_id) -> str:
    """Run the run's current step if no live lease holds it (the Celery task's body). Returns
    what happened: "skipped" (nothing to do, or another attempt holds it), or the step's status."""
    claim = _claim(run_id)
    if claim is None:
        return "skipped"
    run, step, attempt = claim
    loaded = _loaded(run)
    build = loaded.build
    flow = build.flows.get(run.name)
    if flow is None or run.current_step not in flow.nodes:
        return _fail_missing(run, attempt, step)
    provided = step.provided if step.provided is not None and step.request_card else None
    result = run_step(build, run.name, run.current_step, run.variables,
                      resume_card=step.request_card if provided is not None else None, provided=provided,
                      budget_ms=flow.step_timeout_seconds * 1000, tables=table_gateway.for_bot(run.bot_id),
                      env=_env(run, build), bot=_bot_variables(run, build))
    if result.status != "failed":
        problem = _notification_problem(flow, result.outputs)
        if problem:
            result.status, result.error = "failed", problem
    with transaction.atomic():
        current = WorkflowRun.objects.select_for_update().get(pk=run.pk)
        if current.attempt != attempt or current.status != Run.RUNNING:
            return "discarded"  # cancelled, or a newer attempt took over: its results win
        step = WorkflowStep.objects.select_for_update().get(pk=step.pk)
        conversation = current.conversation
        now = timezone.now()
        events = [_transcript(o) for o in result.outputs if o.get("type") not in _ENGINE_OUTPUTS]
        bot_events = [(WORKFLOW_NOTIFY, {"workflowId": str(current.pk), "name": current.name,
                                         "notification": o["notification"], "payload": o["payload"],
                                         "step": o.get("step") or step.node})
                      for o in result.outputs if o.get("type") == "workflow_notify"]
        current.lease_until = None
        if result.status == "failed":
            step.status, step.error, step.finished_at = Step.FAILED, result.error or "", now
            current.status, current.error, current.finished_at = Run.FAILED, result.error or "", now
            events.append(_event("WorkflowStepFailed", workflowId=str(current.pk), stepId=step.node,
                                 error=result.error))
            bot_events.append(_callback(current, "failed"))
        elif result.status == "paused":
            request = result.request
            schema = flow.requests.get(request["name"], {})
            step.status, step.provided = Step.PAUSED, None
            step.request_name, step.request_message, step.request_card = request["name"], request["message"], request["card"]
            current.status, current.variables = Run.PAUSED, result.variables
            events.append(_event("WorkflowInterventionRequired", workflowId=str(current.pk), stepId=step.node,
                                 message=request["message"], request=request["name"],
                                 requestType=f"{current.name}:{request['name']}", dataPoints=data_points(schema),
                                 schema=schema))
            bot_events.append((WORKFLOW_REQUEST, {
                "workflowId": str(current.pk), "name": current.name, "type": f"{current.name}:{request['name']}",
                "request": request["name"], "message": request["message"], "stepId": step.node, "schema": schema}))
        else:
            step.status, step.finished_at = Step.COMPLETED, now
            current.variables = result.variables
            events.append(_event("WorkflowStepCompleted", workflowId=str(current.pk), stepId=step.node))
            following = next_step(build, current.name, result.next)
            if following is None:
                step.save()
                current.save()
                _post(conversation, events, bot_events)
                _complete(current, build, conversation)
                return "completed"
            current.current_step, current.step_index = following, current.step_index + 1
            _enqueue_on_commit(current.pk)
        step.save()
        current.save()
        _post(conversation, events, bot_events)
    return result.status


_ENGINE_OUTPUTS = ("workflow_notify", "workflow_request")


def _env(run: WorkflowRun, build) -> dict:
    if not build.config_names:
        return {}
    environment = ConfigValue.DRAFT if run.is_draft else ConfigValue.PRODUCTION
    return dict(ConfigValue.objects.filter(bot_id=run.bot_id, environment=environment, name__in=build.config_names)
                .values_list("name", "value"))


def _bot_variables(run: WorkflowRun, build) -> dict:
    """The bot scope a step reads. A step's writes to it are not kept (docs/workflows.md): a
    run's own data lives in its workflow variables."""
    stored = BotVariable.objects.filter(bot_id=run.bot_id, is_draft=run.is_draft).values_list("name", "value")
    return {**build.bot_defaults(), **dict(stored)}


def _fail_missing(run: WorkflowRun, attempt: int, step: WorkflowStep) -> str:
    """The draft changed under a run (a published version never does): it cannot go on."""
    error = f"the bot has no step {run.current_step!r} in workflow {run.name!r} any more"
    with transaction.atomic():
        current = WorkflowRun.objects.select_for_update().get(pk=run.pk)
        if current.attempt != attempt or current.status != Run.RUNNING:
            return "discarded"
        now = timezone.now()
        WorkflowStep.objects.filter(pk=step.pk).update(status=Step.FAILED, error=error, finished_at=now)
        current.status, current.error, current.finished_at, current.lease_until = Run.FAILED, error, now, None
        current.save()
        _post(current.conversation, [_event("WorkflowStepFailed", workflowId=str(current.pk), stepId=step.node,
                                            error=error)], [_callback(current, "failed")])
    return "failed"


def _claim(run_id):
    """Take the lease of a running run's current step: (run, step, attempt), or None."""
    now = timezone.now()
    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update(skip_locked=True).filter(pk=run_id).first()
        if run is None or run.status != Run.RUNNING:
            return None
        if run.lease_until is not None and run.lease_until > now:
            return None  # a live attempt holds it
        flow = _loaded(run).build.flows.get(run.name)
        timeout = flow.step_timeout_seconds if flow is not None else 60
        run.attempt += 1
        run.lease_until = now + timedelta(seconds=timeout + lease_grace())
        step = WorkflowStep.objects.filter(run=run, index=run.step_index).first()
        if step is None:
            node = flow.nodes.get(run.current_step) if flow is not None else None
            step = WorkflowStep.objects.create(run=run, index=run.step_index, node=run.current_step)
            _post(run.conversation, [_event("WorkflowStepStarted", workflowId=str(run.pk), stepId=step.node,
                                            message=node.message if node else "")])
        step.attempts += 1
        step.save(update_fields=["attempts"])
        run.save(update_fields=["attempt", "lease_until", "updated_at"])
    return run, step, run.attempt


def _complete(run: WorkflowRun, build, conversation) -> None:
    run.status, run.finished_at = Run.COMPLETED, timezone.now()
    run.output = outputs_of(build, run.name, run.variables)
    run.current_step = ""
    run.save()
    _post(conversation, [_event("WorkflowCompleted", workflowId=str(run.pk), status="completed", output=run.output)],
          [_callback(run, "completed")])


def _notification_problem(flow, outputs) -> str | None:
    from jsonschema import Draft202012Validator

    for output in outputs:
        if output.get("type") != "workflow_notify":
            continue
        schema = flow.notifications.get(output["notification"], {})
        errors = _schema_errors(Draft202012Validator(schema), output.get("payload"))
        if errors:
            detail = "; ".join(f"{e['field'] or '(payload)'}: {e['message']}" for e in errors)
            return f"notification {output['notification']!r} of card {output.get('card')!r} does not fit its schema: {detail}"
    return None


# ---- what the conversation sees ------------------------------------------------------------------

def _event(event_name: str, /, **fields) -> tuple[str, dict]:
    return MESSAGE_TYPE, {"payload": {"type": event_name, **fields}}


def _transcript(output: dict) -> tuple[str, dict]:
    output = dict(output)
    return output.pop("type", "text"), output


def _callback(run: WorkflowRun, status: str) -> tuple[str, dict]:
    return WORKFLOW_CALLBACK, {"workflowId": str(run.pk), "name": run.name, "status": status,
                               "output": run.output if status == "completed" else None,
                               "error": run.error or None}


def _post(conversation: Conversation | None, entries: list[tuple[str, dict]], bot_events=()) -> None:
    """Store progress entries in the conversation's transcript (seq order, delivered like every
    message after commit) and the events the conversation's bot gets (processed by a worker)."""
    if conversation is None:
        return
    if entries:
        now = timezone.now()
        first = turns._allocate_seqs(conversation.pk, len(entries))
        messages = [Message(conversation_id=conversation.pk, bot_id=conversation.bot_id, seq=first + i,
                            direction=Message.Direction.OUTGOING, type=kind, payload=payload, created_at=now)
                    for i, (kind, payload) in enumerate(entries)]
        Message.objects.bulk_create(messages)
        transaction.on_commit(lambda: delivery.publish(conversation, messages))
    if bot_events:
        for kind, payload in bot_events:
            turns.receive_event(conversation, kind, payload)
        conversation_id = conversation.pk
        transaction.on_commit(lambda: _process_conversation(conversation_id))


def _dispatch(task_name: str, arg) -> None:
    """Send a task to the workers, or run it here when tasks run in the web process (the
    embedded default, and tests without a worker)."""
    from runtime import tasks

    task = getattr(tasks, task_name)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        task.run(arg)
        return
    queue = getattr(settings, "FLOWSTUDIO_WORKFLOW_QUEUE", "") or None
    task.apply_async((arg,), queue=queue)


def _process_conversation(conversation_id) -> None:
    _dispatch("process_conversation", conversation_id)


def _enqueue_on_commit(run_id) -> None:
    transaction.on_commit(lambda: _dispatch("run_workflow_step", str(run_id)))


# ---- provide, retry, cancel ---------------------------------------------------------------------------------

def _schema_errors(validator, data) -> list[dict]:
    errors = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            instance = error.instance if isinstance(error.instance, dict) else {}
            for name in error.validator_value:
                if name not in instance:
                    errors.append({"field": f"{path}/{name}" if path else name, "message": "is required"})
        else:
            errors.append({"field": path, "message": error.message})
    return errors


def provide(conversation: Conversation, request: str, data, *, workflow_id=None, step: str | None = None) -> WorkflowRun:
    """Give a paused step the data its request asked for, and resume it. `request` is the
    request's name, or "workflowName:requestName". Without `step` (and `workflow_id`) the
    only step of the conversation waiting for that request is resumed; several is an error.
    Data that does not fit the request's schema is refused with the fields named, and the
    run stays paused."""
    from jsonschema import Draft202012Validator

    workflow_name, _, request_name = request.rpartition(":")
    if not request_name:
        raise WorkflowError("name the request the data is for (e.g. orderId)")
    pending = WorkflowStep.objects.filter(run__conversation=conversation, status=Step.PAUSED,
                                          request_name=request_name, run__status=Run.PAUSED)
    if workflow_name:
        pending = pending.filter(run__name=workflow_name)
    if workflow_id:
        try:
            pending = pending.filter(run_id=uuid.UUID(str(workflow_id)))
        except ValueError:
            raise WorkflowError(f"workflowId {workflow_id!r} is not a run id") from None
    if step:
        pending = pending.filter(node=step)
    with transaction.atomic():
        found = list(pending.select_related("run").select_for_update(of=("self", "run"))[:20])
        if not found:
            where = f" in step {step!r}" if step else ""
            raise WorkflowError(f"no workflow of this conversation is waiting for request {request_name!r}{where}",
                                status=404)
        if len(found) > 1:
            listed = ", ".join(f"{s.run_id}/{s.node}" for s in found)
            raise WorkflowError(f"{len(found)} steps are waiting for request {request_name!r} ({listed}); "
                                "say which one with the step (and workflowId)", status=409)
        pending_step = found[0]
        run = pending_step.run
        flow = _loaded(run).build.flows.get(run.name)
        if flow is None or request_name not in flow.requests:
            raise WorkflowError(f"the bot's workflow {run.name!r} declares no request {request_name!r} any more",
                                status=409)
        schema = flow.requests[request_name]
        errors = _schema_errors(Draft202012Validator(schema), data)
        if errors:
            detail = "; ".join(f"{e['field'] or '(data)'}: {e['message']}" for e in errors)
            raise WorkflowError(f"the data for request {request_name!r} does not fit its schema: {detail}",
                                errors=errors)
        pending_step.provided = {"request": request_name, "data": data}
        pending_step.status = Step.RUNNING
        pending_step.save(update_fields=["provided", "status"])
        run.status, run.lease_until = Run.RUNNING, None
        run.save(update_fields=["status", "lease_until", "updated_at"])
        _enqueue_on_commit(run.pk)
    return run


def resume(conversation: Conversation, workflow_id, step_id: str | None, values) -> WorkflowRun:
    """`POST /api/chat/resume-workflow`: the client's form for the pending step of a run."""
    run = get_run(conversation, workflow_id)
    if run.status != Run.PAUSED:
        raise WorkflowError(f"workflow {workflow_id} is {run.status}, not waiting for data", status=409)
    waiting = run.steps.filter(status=Step.PAUSED).order_by("-index").first()
    if waiting is None or (step_id and waiting.node != step_id):
        raise WorkflowError(f"step {step_id!r} of workflow {workflow_id} is not waiting for data", status=409)
    return provide(conversation, waiting.request_name, values, workflow_id=run.pk, step=waiting.node)


def client_frame(conversation: Conversation, frame: dict, refusal: type[Exception]) -> dict:
    """A chat client's `resume_workflow` or `retry_workflow` frame (webchat and emulator
    sockets, docs/websocket-protocol.md): checks its fields, resumes the run's pending step
    with the form's `values` or runs its failed step again, and returns the ack's fields.
    Problems are the socket's own error class, `refusal(code, message)`: `bad_request` for
    a malformed frame, `invalid_workflow_data` (with `.errors`, [{field, message}]) when the
    run refused it; a refused form leaves the run paused."""
    workflow_id, step_id, values = frame.get("workflowId"), frame.get("stepId"), frame.get("values")
    retrying = frame.get("type") == "retry_workflow"
    if not isinstance(workflow_id, str) or not workflow_id:
        raise refusal("bad_request", f"{frame.get('type')} needs the workflowId")
    if step_id is not None and not isinstance(step_id, str):
        raise refusal("bad_request", "stepId must be text")
    if not retrying and not isinstance(values, dict):
        raise refusal("bad_request", "values must be an object: the form's field key -> value")
    try:
        if retrying:
            run = retry(get_run(conversation, workflow_id))
            step_id = run.current_step
        else:
            run = resume(conversation, workflow_id, step_id or None, values)
    except WorkflowError as exc:
        error = refusal("invalid_workflow_data", exc.message)
        error.errors = exc.errors
        raise error from None
    return {"workflowId": str(run.pk), "stepId": step_id, "status": run.status}


def get_run(conversation: Conversation | None, workflow_id, *, bot=None) -> WorkflowRun:
    try:
        run_id = uuid.UUID(str(workflow_id))
    except ValueError:
        raise WorkflowError(f"workflowId {workflow_id!r} is not a run id") from None
    runs = WorkflowRun.objects.filter(pk=run_id)
    if conversation is not None:
        runs = runs.filter(conversation=conversation)
    if bot is not None:
        runs = runs.filter(bot=bot)
    run = runs.first()
    if run is None:
        raise WorkflowError(f"no workflow {workflow_id}", status=404)
    return run


def retry(run: WorkflowRun) -> WorkflowRun:
    """Run a failed run's failed step again from its start (a paused-then-resumed step resumes
    on its request card with the same data)."""
    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update().get(pk=run.pk)
        if run.status != Run.FAILED:
            raise WorkflowError(f"only a failed workflow can be retried; this one is {run.status}", status=409)
        step = WorkflowStep.objects.select_for_update().get(run=run, index=run.step_index)
        step.status, step.error, step.finished_at = Step.RUNNING, "", None
        step.save(update_fields=["status", "error", "finished_at"])
        run.status, run.error, run.finished_at, run.lease_until = Run.RUNNING, "", None, None
        run.save()
        _post(run.conversation, [_event("WorkflowStepStarted", workflowId=str(run.pk), stepId=step.node,
                                        message=_step_message(run, step.node), retry=True)])
        _enqueue_on_commit(run.pk)
    return run


def cancel(run: WorkflowRun) -> WorkflowRun:
    """Stop a run: a paused one at once, a running step at its next checkpoint (the end of the
    step: its results are discarded). The conversation gets the callback with `cancelled`."""
    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update().get(pk=run.pk)
        if run.status not in ACTIVE:
            raise WorkflowError(f"workflow {run.pk} is already {run.status}", status=409)
        now = timezone.now()
        WorkflowStep.objects.filter(run=run, status__in=[Step.RUNNING, Step.PAUSED]).update(
            status=Step.CANCELLED, finished_at=now)
        run.status, run.finished_at, run.lease_until = Run.CANCELLED, now, None
        run.save()
        _post(run.conversation, [_event("WorkflowCompleted", workflowId=str(run.pk), status="cancelled", output=None)],
              [_callback(run, "cancelled")])
    return run


def _step_message(run: WorkflowRun, node_id: str) -> str:
    flow = _loaded(run).build.flows.get(run.name)
    node = flow.nodes.get(node_id) if flow else None
    return node.message if node else ""


def has_workflows(build) -> bool:
    return any(flow.kind == "workflow" for flow in build.flows.values())


def statuses(conversation, build) -> dict[str, dict]:
    """The `workflows` scope of a turn (docs/workflows.md, "Workflow Status"): the
    conversation's runs by id, newest 50. A bot without workflow flows costs no query."""
    if not has_workflows(build):
        return {}
    runs = (WorkflowRun.objects.filter(conversation_id=conversation.pk).order_by("-created_at")
            .values("pk", "name", "status", "current_step", "output", "error")[:50])
    return {str(r["pk"]): {"status": r["status"], "name": r["name"], "stepId": r["current_step"],
                           "output": r["output"], "error": r["error"] or None} for r in runs}


def active_workflows(conversation: Conversation) -> list[dict]:
    """`ActiveWorkflow` for a reconnecting client: each running or paused run with its current
    step and, when paused, the pending form."""
    out = []
    for run in conversation.workflow_runs.filter(status__in=ACTIVE).order_by("created_at"):
        step = run.steps.filter(index=run.step_index).first()
        entry = {"workflowId": str(run.pk), "name": run.name, "status": run.status,
                 "stepId": step.node if step else run.current_step, "message": _step_message(run, run.current_step)}
        if step is not None and step.status == Step.PAUSED:
            flow = _loaded(run).build.flows.get(run.name)
            schema = flow.requests.get(step.request_name, {}) if flow is not None else {}
            entry["intervention"] = {"stepId": step.node, "message": step.request_message,
                                     "request": step.request_name, "dataPoints": data_points(schema),
                                     "schema": schema}
        out.append(entry)
    return out


# ---- recovery -------------------------------------------------------------------------------------------------

def recover(limit: int = 500) -> int:
    """Enqueue again the running runs no live attempt holds: a lease that expired (its worker
    died mid-step) or a queued step whose task was lost (no lease for a minute). Their task
    claims a fresh lease, so a step enqueued twice still runs once at a time."""
    now = timezone.now()
    stale = now - timedelta(seconds=60)
    ids = list(WorkflowRun.objects.filter(status=Run.RUNNING).filter(
        Q(lease_until__lt=now) | Q(lease_until__isnull=True, updated_at__lt=stale)
    ).values_list("pk", flat=True)[:limit])
    for run_id in ids:
        _dispatch("run_workflow_step", str(run_id))
    return len(ids)


def subscribe() -> None:
    delivery.subscribe(on_turn_outputs)
