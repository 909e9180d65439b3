"""From the conversation's transcript to AG-UI events (pure: no database, no I/O).

One `Translator` per AG-UI run. It is fed the transcript entries the run's conversation
gains, in seq order, and the pieces of streamed answers as they come, and gives back the
AG-UI events to send, keeping the order rules `@ag-ui/client` verifies: a text message is
started before its content and ended once, a step is started before it is finished and
every step and message is closed before RUN_FINISHED.

Mapping (docs/workflows.md, "AG-UI"):
- a bot message with text: TEXT_MESSAGE_START / CONTENT / END (role assistant); a streamed
  answer sends one CONTENT per piece as the model writes, and its stored message ends it;
  a message without text (an image, a card): CUSTOM `flowstudio.message` with the payload;
- the six progress events: CUSTOM with the event's type as its name and the payload as its
  value, and WorkflowStepStarted / WorkflowStepCompleted / WorkflowStepFailed also as
  STEP_STARTED / STEP_FINISHED (step name: the step id);
- a paused workflow step: an interrupt of RUN_FINISHED (`finish`).
"""
from __future__ import annotations

# The Start Workflow / Provide cards' own outputs: instructions to the runtime, not news.
INTERNAL_EVENTS = frozenset({"workflow_start", "workflow_provide"})
PROGRESS = frozenset({"WorkflowStarted", "WorkflowStepStarted", "WorkflowInterventionRequired",
                      "WorkflowStepCompleted", "WorkflowStepFailed", "WorkflowCompleted"})
MESSAGE_EVENT = "flowstudio.message"
INTERRUPT_REASON = "input_required"


def interrupt_id(workflow_id: str, step_id: str) -> str:
    return f"{workflow_id}:{step_id}"


def parse_interrupt_id(value) -> tuple[str, str] | None:
    if not isinstance(value, str):
        return None
    workflow_id, sep, step_id = value.partition(":")
    return (workflow_id, step_id) if sep and workflow_id and step_id else None


def interrupt(paused: dict) -> dict:
    """An AG-UI Interrupt for a paused run (`runtime.workflows.active_workflows` entry)."""
    pending = paused["intervention"]
    return {"id": interrupt_id(paused["workflowId"], pending["stepId"]), "reason": INTERRUPT_REASON,
            "message": pending.get("message") or "", "responseSchema": pending.get("schema") or {},
            "metadata": {"workflowId": paused["workflowId"], "workflowName": paused["name"],
                         "stepId": pending["stepId"], "request": pending.get("request"),
                         "requestType": f"{paused['name']}:{pending.get('request')}",
                         "dataPoints": pending.get("dataPoints", [])}}


def run_error(message: str, code: str) -> dict:
    return {"type": "RUN_ERROR", "message": message, "code": code}


class Translator:
    def __init__(self, thread_id: str, run_id: str):
        self.thread_id, self.run_id = thread_id, run_id
        self.texts: dict[tuple, dict] = {}  # open streamed answers: (turn, streamId) -> {id, sent}
        self.finished: set[tuple] = set()  # streamed answers whose stored message came
        self.steps: dict[tuple, str] = {}  # active steps: (workflowId, stepId) -> step name
        self.awaited: set[str] = set()  # runs a Start Workflow card asked for, not started yet
        self.outcomes: list[dict] = []  # runs that ended during this AG-UI run
        self.failure: str | None = None
        self._streams = 0

    def started(self) -> list[dict]:
        return [{"type": "RUN_STARTED", "threadId": self.thread_id, "runId": self.run_id}]

    # ---- steps ---------------------------------------------------------------------------------

    def _step_started(self, workflow_id: str, step_id: str) -> list[dict]:
        key = (workflow_id, step_id)
        if key in self.steps:
            return []  # a retried step is still the same step
        name = step_id if step_id not in self.steps.values() else f"{step_id} ({workflow_id[:8]})"
        self.steps[key] = name
        return [{"type": "STEP_STARTED", "stepName": name}]

    def _step_finished(self, workflow_id: str, step_id: str) -> list[dict]:
        # A step this AG-UI run did not see start (it began in an earlier run) is opened first,
        # so the client's order check holds.
        events = self._step_started(workflow_id, step_id)
        return events + [{"type": "STEP_FINISHED", "stepName": self.steps.pop((workflow_id, step_id))}]

    def resumed(self, workflow_id: str, step_id: str) -> list[dict]:
        """The step a resume answered goes on in this run."""
        return self._step_started(workflow_id, step_id)

    # ---- text --------------------------------------------------------------------------------------

    def delta(self, turn, data: dict) -> list[dict]:
        """A piece of a streamed answer (a Chat API `message_delta` signal's data)."""
        key = (str(turn), data.get("streamId"))
        if key in self.finished:
            return []  # its stored message overtook it
        if data.get("discard"):
            # Not an answer after all (an autonomous node's thought beside a tool call): what
            # went out cannot be taken back; the message ends here.
            self.finished.add(key)
            open_text = self.texts.pop(key, None)
            return [{"type": "TEXT_MESSAGE_END", "messageId": open_text["id"]}] if open_text else []
        piece = data.get("delta") or ""
        events = []
        open_text = self.texts.get(key)
        if open_text is None:
            self._streams += 1
            open_text = self.texts[key] = {"id": f"{self.run_id}-stream-{self._streams}", "sent": ""}
            events.append({"type": "TEXT_MESSAGE_START", "messageId": open_text["id"], "role": "assistant"})
        if piece:
            open_text["sent"] += piece
            events.append({"type": "TEXT_MESSAGE_CONTENT", "messageId": open_text["id"], "delta": piece})
        return events

    def _text(self, entry: dict, text: str) -> list[dict]:
        stream_id = entry["payload"].get("streamId")
        key = (str(entry.get("turn")), stream_id) if stream_id else None
        open_text = self.texts.pop(key, None) if key else None
        if key:
            self.finished.add(key)
        if open_text is not None and text.startswith(open_text["sent"]):
            rest = text[len(open_text["sent"]):]
            events = [{"type": "TEXT_MESSAGE_CONTENT", "messageId": open_text["id"], "delta": rest}] if rest else []
            return events + [{"type": "TEXT_MESSAGE_END", "messageId": open_text["id"]}]
        events = [{"type": "TEXT_MESSAGE_END", "messageId": open_text["id"]}] if open_text else []
        message_id = entry["id"]
        events += [{"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"}]
        if text:
            events.append({"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": text})
        return events + [{"type": "TEXT_MESSAGE_END", "messageId": message_id}]

    # ---- the transcript ------------------------------------------------------------------------

    def stored(self, entry: dict) -> list[dict]:
        """One transcript entry: {id, outgoing, type, payload, turn}; what the user sent is
        the client's own and gives nothing."""
        if not entry["outgoing"]:
            return []
        payload = entry["payload"]
        if entry["type"] == "event":
            return self._event(payload.get("payload") if isinstance(payload.get("payload"), dict) else {})
        text = payload.get("text")
        events = self._text(entry, text) if isinstance(text, str) else []
        if entry["type"] != "text":
            events.append({"type": "CUSTOM", "name": MESSAGE_EVENT, "value": {"type": entry["type"], **payload}})
        return events

    def _event(self, event: dict) -> list[dict]:
        kind = event.get("type")
        if kind in INTERNAL_EVENTS:
            if kind == "workflow_start" and event.get("workflowId"):
                self.awaited.add(str(event["workflowId"]))
            return []
        custom = [{"type": "CUSTOM", "name": kind if isinstance(kind, str) and kind else "event", "value": event}]
        if kind not in PROGRESS:
            return custom
        workflow_id, step_id = str(event.get("workflowId")), event.get("stepId")
        if kind == "WorkflowStarted":
            self.awaited.discard(workflow_id)
        elif kind == "WorkflowStepStarted" and step_id:
            return self._step_started(workflow_id, step_id) + custom
        elif kind in ("WorkflowStepCompleted", "WorkflowStepFailed") and step_id:
            if kind == "WorkflowStepFailed":
                self.failure = f"workflow {workflow_id} failed at step {step_id!r}: {event.get('error') or 'error'}"
            return custom + self._step_finished(workflow_id, step_id)
        elif kind == "WorkflowCompleted":
            self.awaited.discard(workflow_id)
            self.outcomes.append({"workflowId": workflow_id, "status": event.get("status"),
                                  "output": event.get("output")})
        return custom

    # ---- the end ----------------------------------------------------------------------------------

    def _close(self) -> list[dict]:
        events = [{"type": "TEXT_MESSAGE_END", "messageId": t["id"]} for t in self.texts.values()]
        self.texts.clear()
        events += [{"type": "STEP_FINISHED", "stepName": name} for name in self.steps.values()]
        self.steps.clear()
        return events

    def finish(self, paused: list[dict]) -> list[dict]:
        """The last events of the run, once the conversation is quiet: RUN_FINISHED with an
        interrupt per paused step, RUN_ERROR when a workflow this run followed failed, else
        RUN_FINISHED with the runs that ended as its result."""
        events = self._close()
        if self.failure and not paused:
            return events + [run_error(self.failure, "WORKFLOW_STEP_FAILED")]
        end = {"type": "RUN_FINISHED", "threadId": self.thread_id, "runId": self.run_id}
        if paused:
            end["outcome"] = {"type": "interrupt", "interrupts": [interrupt(p) for p in paused]}
        else:
            end["outcome"] = {"type": "success"}
            if self.outcomes:
                end["result"] = {"workflows": self.outcomes}
        return events + [end]

    def timed_out(self, running: list[dict]) -> list[dict]:
        """The run's time is up while workflows still run: a success whose result says which
        are still running (a later run without input follows them on)."""
        end = {"type": "RUN_FINISHED", "threadId": self.thread_id, "runId": self.run_id,
               "outcome": {"type": "success"},
               "result": {"workflows": self.outcomes + [{"workflowId": r["workflowId"], "status": r["status"]}
                                                         for r in running]}}
        return self._close() + [end]
