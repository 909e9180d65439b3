"""What a running bot remembers: end users, conversations, the events they send and the
messages exchanged, and the bot's shared variables.

Everything is written by the turn service (`runtime.turns`); nothing else should change
these rows, so the ordering and locking rules live in one place.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q


class EndUser(models.Model):
    """A person talking to a bot, across conversations (the `user` variable scope)."""

    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="end_users")
    external_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True, default="")
    variables = models.JSONField(default=dict, blank=True)
    # String-to-string metadata set through the REST API (`language`, `crm:id`...).
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bot", "external_id"], name="enduser_unique_external_id"),
        ]

    def __str__(self):
        return self.name or self.external_id


class Conversation(models.Model):
    class Handoff(models.TextChoices):
        """Who answers the conversation (docs/handoff.md): the bot, nobody yet (escalated,
        waiting in the Inbox), an agent, or nobody any more (an agent ended it)."""
        BOT = "bot", "bot"
        WAITING = "waiting", "waiting for agent"
        WITH_AGENT = "with_agent", "with agent"
        ENDED = "ended", "ended"

    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="conversations")
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="conversations")
    external_id = models.CharField(max_length=255)
    # Where the conversation happens ("emulator", "webchat", "api", ...); the engine shows
    # it to bot code as `event.channel`.
    channel = models.CharField(max_length=64, default="api")
    # Emulator conversations run the draft; everything else runs published versions.
    is_draft = models.BooleanField(default=False)
    # The version the current dialog is pinned to; cleared when a dialog ends so the next
    # dialog picks the latest published version. Always null for draft conversations.
    # RESTRICT, not PROTECT: a version in use cannot be deleted on its own, but deleting the
    # bot (which takes its versions and conversations together) must still work.
    version = models.ForeignKey(
        "flows.BotVersion", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    state = models.JSONField(default=dict, blank=True)
    last_user_event_at = models.DateTimeField(null=True, blank=True)
    timeout_at = models.DateTimeField(null=True, blank=True)
    next_seq = models.PositiveBigIntegerField(default=1)
    tags = models.JSONField(default=dict, blank=True)
    # Human handoff (runtime/handoff.py). While `waiting` or `with_agent` the bot does not run:
    # the user's events are stored and shown in the Inbox. A turn writes status, reason,
    # priority and requested_at (the Escalate card); the handoff operations write the rest.
    handoff_status = models.CharField(max_length=16, choices=Handoff.choices, default=Handoff.BOT)
    handoff_reason = models.CharField(max_length=2000, blank=True, default="")
    handoff_priority = models.CharField(max_length=16, default="normal")
    handoff_agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    handoff_requested_at = models.DateTimeField(null=True, blank=True)
    handoff_assigned_at = models.DateTimeField(null=True, blank=True)
    handoff_ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bot", "external_id"], name="conversation_unique_external_id"),
        ]
        indexes = [
            # fire_due_timeouts scans only conversations with a pending timeout.
            models.Index(fields=["timeout_at"], name="conversation_due_timeout",
                         condition=Q(timeout_at__isnull=False)),
            # The Inbox reads only the conversations people are handling.
            models.Index(fields=["bot", "handoff_status"], name="conversation_handoff",
                         condition=Q(handoff_status__in=["waiting", "with_agent"])),
            # The dashboard's Conversations list: newest first, paged by (created_at, id).
            models.Index(fields=["bot", "-created_at", "-id"], name="conversation_dashboard_list"),
            # Its channel filter's choices, read by a skip scan (studio/conversations.channels).
            models.Index(fields=["bot", "channel"], name="conversation_bot_channel"),
        ]

    def __str__(self):
        return f"{self.external_id} ({'draft' if self.is_draft else 'published'})"


def _fill_bot(row) -> None:
    """The denormalised `bot_id` of an Event or Message saved one by one (admin, tests, the
    Inbox's agent replies); the turn service sets it itself on the rows it writes in bulk."""
    if row.bot_id is None and row.conversation_id is not None:
        field = type(row).conversation
        row.bot_id = row.conversation.bot_id if field.is_cached(row) else (
            Conversation.objects.filter(pk=row.conversation_id).values_list("bot_id", flat=True).first())


class Event(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        FAILED = "failed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    # The conversation's bot, copied here so the dashboard's Logs and Events pages walk one
    # bot's events by an index instead of every bot's through the conversation join (a small
    # bot in a large database). Null only on rows of before migration 0013 not yet filled.
    bot = models.ForeignKey("flows.Bot", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                            db_index=False)
    seq = models.PositiveBigIntegerField()
    # Who sent it when that is not the conversation's own user (another participant).
    user = models.ForeignKey(EndUser, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    # Free data beside the payload (the Chat API's message metadata); the bot sees event.metadata.
    metadata = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True, default="")
    # What the engine did with the event (docs/engine.md, "Trace") and what its code and Log
    # cards wrote, kept so the emulator's debugger and a reload can show them.
    trace = models.JSONField(default=list, blank=True)
    logs = models.JSONField(default=list, blank=True)
    # What the Analytics rollup counts from this turn, taken from its trace when the turn is
    # stored (runtime.analytics.turn_facts): the NLU intent, Track Event cards, capture card
    # outcomes. Small, so the rollup never reads whole traces. Null when there is nothing.
    facts = models.JSONField(null=True, blank=True)
    # Wall time of the engine turn (None until processed; failed turns keep their time too).
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="event_unique_seq"),
        ]
        indexes = [
            # process_pending reads the received events of one conversation in seq order.
            models.Index(fields=["conversation", "seq"], name="event_pending",
                         condition=Q(status="received")),
            # The Logs and Events pages: one bot's events, newest first.
            models.Index(fields=["bot", "-id"], name="event_bot_recent"),
        ]

    def save(self, *args, **kwargs):
        _fill_bot(self)
        super().save(*args, **kwargs)

    def __str__(self):
        return f"#{self.seq} {self.type} ({self.status})"


class Message(models.Model):
    class Direction(models.TextChoices):
        INCOMING = "incoming"
        OUTGOING = "outgoing"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # The conversation's bot, copied as on Event: the Events page's outgoing messages of one
    # bot by an index. Null only on rows of before migration 0013 not yet filled.
    bot = models.ForeignKey("flows.Bot", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                            db_index=False)
    seq = models.PositiveBigIntegerField()
    direction = models.CharField(max_length=16, choices=Direction.choices)
    # The sender of an incoming message (null on outgoing ones: the bot sent them).
    user = models.ForeignKey(EndUser, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    # A message type ("text", "bloc"...) or "event": a custom event, payload {"payload": {...}}.
    type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_unique_seq"),
        ]
        indexes = [
            # The Events page's outgoing messages of one bot, newest first.
            models.Index(fields=["bot", "-id"], name="message_bot_recent"),
        ]

    def save(self, *args, **kwargs):
        _fill_bot(self)
        super().save(*args, **kwargs)

    def __str__(self):
        return f"#{self.seq} {self.direction} {self.type}"

    def as_output(self) -> dict:
        """The message as the engine emitted it: `{"type": ..., **fields}` (+ `metadata`)."""
        output = {"type": self.type, **self.payload}
        if self.metadata is not None:
            output["metadata"] = self.metadata
        return output

    @property
    def is_event(self) -> bool:
        """A custom event (the user's or one a Send Event card emitted), not a message."""
        return self.type == EVENT_MESSAGE_TYPE


# Message.type of custom events; the engine's CUSTOM_EVENT, repeated here so models stay light.
EVENT_MESSAGE_TYPE = "event"


class BotVariable(models.Model):
    """One bot-scope variable; one row per name so concurrent turns that write different
    names never overwrite each other."""

    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="variable_values")
    is_draft = models.BooleanField(default=False)
    name = models.CharField(max_length=255)
    value = models.JSONField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bot", "is_draft", "name"], name="botvariable_unique_name"),
        ]

    def __str__(self):
        return self.name


class State(models.Model):
    """A named JSON value kept for a conversation, an end user, the bot or a workflow (the
    state API). Written only through `runtime.state`, which also fires expiries."""

    class Type(models.TextChoices):
        CONVERSATION = "conversation"
        USER = "user"
        BOT = "bot"
        WORKFLOW = "workflow"

    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="states")
    type = models.CharField(max_length=16, choices=Type.choices)
    # The conversation's or user's external id, the bot's id, or a workflow id.
    scope_id = models.CharField(max_length=255)
    name = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    # Where `state_expired` goes when the state expires; deleting the conversation keeps
    # user/bot/workflow states (their expiry then fires nowhere).
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expiry_seconds = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bot", "type", "scope_id", "name"], name="state_unique_name"),
        ]
        indexes = [
            # fire_due_states scans only states that can expire.
            models.Index(fields=["expires_at"], name="state_due_expiry", condition=Q(expires_at__isnull=False)),
        ]

    def __str__(self):
        return f"{self.type}:{self.scope_id}:{self.name}"


class LLMUsage(models.Model):
    """One call to a language model by a turn: who asked (bot, conversation, card) and what
    it cost. Written for every call, also when the turn itself then failed (the provider
    bills it either way). `cost` is from the workspace's prices per 1k tokens: an estimate,
    the provider's bill is the truth."""

    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="llm_usage")
    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    is_draft = models.BooleanField(default=False)
    card = models.CharField(max_length=255, blank=True, default="")
    # The card type or agent that asked ("ai_generate_text", "agent:summary"...).
    purpose = models.CharField(max_length=64, blank=True, default="")
    provider = models.CharField(max_length=64, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    ms = models.FloatField(default=0)
    cost = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["bot", "created_at"], name="llmusage_bot_time")]

    def __str__(self):
        return f"{self.provider}/{self.model} {self.tokens_in}+{self.tokens_out}"


class TriggerSecret(models.Model):
    """The secret of one webhook trigger node (flow, node) of a bot: a request to the
    trigger's URL proves it knows it (runtime/triggers.py). Stored encrypted, because an
    HMAC signature is checked with the secret itself; never shown by repr or str."""

    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="+")
    flow = models.CharField(max_length=64)
    node = models.CharField(max_length=64)
    encrypted_secret = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    encrypted_fields = ("encrypted_secret",)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot", "flow", "node"], name="triggersecret_unique_node")]

    def __repr__(self) -> str:
        return f"<TriggerSecret {self.bot_id} {self.flow}/{self.node}>"

    __str__ = __repr__


class ScheduleClaim(models.Model):
    """One due time of one schedule trigger, claimed by the process that runs it. The unique
    constraint is what makes a due time run once however many beat or worker processes see
    it: the second insert fails and that process moves on."""

    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="+")
    flow = models.CharField(max_length=64)
    node = models.CharField(max_length=64)
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(auto_now_add=True)
    conversation = models.ForeignKey(Conversation, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot", "flow", "node", "due_at"],
                                               name="scheduleclaim_unique_due_time")]


class WorkflowRun(models.Model):
    """One run of a background workflow (docs/workflows.md). Written only by
    runtime.workflows: a step's results, the lease and the conversation's events change in
    one transaction."""

    class Status(models.TextChoices):
        RUNNING = "running"  # a step is queued or running
        PAUSED = "paused"  # waiting for data a request asked the conversation for
        FAILED = "failed"  # a step failed: halted until a person retries it
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    # The workflowId clients and bot flows see; the Start Workflow card makes it.
    id = models.UUIDField(primary_key=True)
    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="workflow_runs")
    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="workflow_runs")
    name = models.CharField(max_length=64)  # the workflow flow's name
    # The build the run keeps to the end: the draft (emulator) or one published version.
    is_draft = models.BooleanField(default=False)
    version = models.ForeignKey("flows.BotVersion", null=True, blank=True, on_delete=models.RESTRICT,
                                related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    inputs = models.JSONField(default=dict, blank=True)
    variables = models.JSONField(default=dict, blank=True)  # the workflow scope after the last step
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # The step (node id) the run is at, and its WorkflowStep's index.
    current_step = models.CharField(max_length=64, blank=True, default="")
    step_index = models.PositiveIntegerField(default=0)
    # The lease: the attempt that may commit the current step, and until when it holds the run.
    # A lease that expires (a worker died) lets runtime.workflows.recover run the step again.
    attempt = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # recover() scans only running runs.
            models.Index(fields=["lease_until"], name="workflow_run_running", condition=Q(status="running")),
            models.Index(fields=["conversation", "status"], name="workflow_run_conversation"),
        ]

    def __str__(self):
        return f"{self.name} {self.pk} ({self.status})"


class WorkflowStep(models.Model):
    """One step a run entered: its outcome, and while paused the request it waits on."""

    class Status(models.TextChoices):
        RUNNING = "running"
        PAUSED = "paused"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveIntegerField()
    node = models.CharField(max_length=64)  # the stepId clients see
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    request_name = models.CharField(max_length=64, blank=True, default="")
    request_message = models.TextField(blank=True, default="")
    request_card = models.CharField(max_length=64, blank=True, default="")
    # The data provided for the request: the step resumes on its card with it (again after a crash).
    provided = models.JSONField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="workflow_step_unique_index")]
        indexes = [models.Index(fields=["request_name"], name="workflow_step_paused",
                                condition=Q(status="paused"))]

    def __str__(self):
        return f"{self.run_id}:{self.node} ({self.status})"


class Issue(models.Model):
    """One kind of error of a bot's published conversations in one place: the errors whose
    kind, flow, node, card and message pattern (the message with numbers and ids replaced,
    `runtime.issues.pattern`) are the same. Written only by `runtime.issues.refresh`, which
    folds new failed turns and error log lines into these rows (docs/dashboard.md, "Issues")."""

    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="issues")
    # sha256 of kind, flow, node, card and pattern: the group's identity.
    fingerprint = models.CharField(max_length=64)
    # "bot error" (the engine caught it and ran the error flow), "logged error" (the bot's
    # code logged at level error) or the exception class of a turn that failed outright.
    kind = models.CharField(max_length=100)
    flow = models.CharField(max_length=255, blank=True, default="")
    node = models.CharField(max_length=255, blank=True, default="")
    card = models.CharField(max_length=255, blank=True, default="")
    pattern = models.TextField()
    sample_message = models.TextField(blank=True, default="")
    sample_conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="+")
    count = models.PositiveBigIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    # Set by "Mark resolved"; an occurrence after it opens the issue again.
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot", "fingerprint"], name="issue_unique_fingerprint")]
        indexes = [models.Index(fields=["bot", "-last_seen"], name="issue_bot_last_seen")]

    def __str__(self):
        return f"{self.kind} at {self.card or self.node or '-'}: {self.pattern[:60]}"


class IssueScan(models.Model):
    """How far `runtime.issues.refresh` has read a bot's events (by id); its row lock is
    what keeps two refreshes from counting one event twice."""

    bot = models.OneToOneField("flows.Bot", on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_event_id = models.BigIntegerField(default=0)


class DailyStats(models.Model):
    """One day of one bot on one channel, for the dashboard's Analytics page: written only by
    `runtime.analytics.roll_up` (a Celery beat task), so the page reads a few rows per day
    instead of scanning messages. Days are the server's time zone; published conversations
    only (the emulator's are not the bot's audience)."""

    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="daily_stats")
    day = models.DateField()
    channel = models.CharField(max_length=64)  # "" for LLM calls outside any conversation
    conversations = models.PositiveIntegerField(default=0)  # started that day
    # Users who sent a message that day: first seen that day / seen before.
    users_new = models.PositiveIntegerField(default=0)
    users_returning = models.PositiveIntegerField(default=0)
    messages_in = models.PositiveIntegerField(default=0)
    messages_out = models.PositiveIntegerField(default=0)
    failed_turns = models.PositiveIntegerField(default=0)
    llm_tokens = models.PositiveBigIntegerField(default=0)
    llm_cost = models.FloatField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot", "day", "channel"], name="dailystats_unique_day")]

    def __str__(self):
        return f"{self.day} {self.channel or '-'}"


class DailyCount(models.Model):
    """Named counters of one day of one bot on one channel, beside `DailyStats` and written by
    the same rollup (`runtime.analytics.roll_up`): what has a name the bot file chooses, so
    cannot be a column. `kind` is one of `COUNT_KINDS`; `name` the event name, the intent,
    the capture card's id, the workflow's name or the hour of day ("00".."23")."""

    bot = models.ForeignKey("flows.Bot", on_delete=models.CASCADE, related_name="daily_counts")
    day = models.DateField()
    channel = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)
    name = models.CharField(max_length=128)
    count = models.PositiveIntegerField(default=0)
    # The sum of the Track Event cards' values (0 for the other kinds).
    total = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot", "day", "channel", "kind", "name"],
                                               name="dailycount_unique")]
        indexes = [models.Index(fields=["bot", "kind", "day"], name="dailycount_bot_kind_day")]

    def __str__(self):
        return f"{self.day} {self.kind} {self.name}: {self.count}"
