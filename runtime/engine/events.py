"""The kinds of event the engine tells apart (see docs/engine.md, "Events and triggers").

- A *message* (something the user said or clicked) resumes the dialog, or starts one at
  main's start node.
- `timeout` is the inactivity timeout (the system raises it).
- Every other event is matched against the bot's trigger nodes; without a match it is
  ignored and the state stays as it was.
"""

# Payload types a user can send; they are the Chat API message types plus the clicks.
MESSAGE_EVENT_TYPES = frozenset({
    "text", "markdown", "image", "audio", "video", "file", "location", "card", "carousel",
    "choice", "dropdown", "bloc", "quick_reply", "postback",
})
TIMEOUT = "timeout"
# A channel raises it when a conversation opens (the webchat when the widget starts).
CONVERSATION_STARTED = "conversation_started"
# A custom event: a free JSON object (Chat API createEvent, the webchat's sendEvent). Its
# `payload.type`, when it is a string, is the custom type a trigger's `eventType` names.
CUSTOM_EVENT = "event"

# The runtime raises it when a person hands an escalated conversation back (runtime/handoff.py):
# payload `{"reason": "returned" | "ended"}`. It moves a dialog waiting on an Escalate card
# (cards/escalate.py); elsewhere it is ignored (no trigger type listens to it).
HITL_STOPPED = "hitlStopped"
HITL_REASONS = ("returned", "ended")

# The state API raises it when a state's expiry passes; its payload is `{"state": {...}}`.
STATE_EXPIRED = "state_expired"

# The runtime raises these for one trigger node (docs/hooks-and-triggers.md): a POST to the
# trigger's webhook URL (payload: the JSON body) and a due time of a schedule trigger
# (payload: {"scheduledFor": ISO time}). `event.trigger` names the node ({"flow", "node"}):
# only that trigger node matches them.
WEBHOOK = "webhook"
SCHEDULE = "schedule"
TARGETED_EVENT_TYPES = frozenset({WEBHOOK, SCHEDULE})
WEBHOOK_AUTH = ("signature", "secret")

# Background workflows talk to the conversation that started them with these events
# (docs/workflows.md): a run asks for data, notifies, and reports that it ended
# (`{workflowId, status, output}`; it also resumes a Start Workflow card that waits for it).
WORKFLOW_REQUEST = "workflow_request"
WORKFLOW_NOTIFY = "workflow_notify"
WORKFLOW_CALLBACK = "workflow_callback"

# Trigger node types and the event type each one listens to.
TRIGGER_TYPES = {"conversation_started": CONVERSATION_STARTED, "event": CUSTOM_EVENT,
                 "state_expired": STATE_EXPIRED, WORKFLOW_REQUEST: WORKFLOW_REQUEST,
                 WORKFLOW_NOTIFY: WORKFLOW_NOTIFY, WORKFLOW_CALLBACK: WORKFLOW_CALLBACK,
                 "webhook": WEBHOOK, "schedule": SCHEDULE}


def custom_event_type(payload) -> str | None:
    """The custom type of a custom event's payload (`payload.type` when it is a string)."""
    if isinstance(payload, dict) and isinstance(payload.get("type"), str):
        return payload["type"]
    return None
