"""Background workflow runs of a bot (docs/workflows.md): read one with its steps, retry a
failed one, cancel an active one, and give a paused step the data it waits for. The work is
in runtime/workflows.py; these views only translate its refusals into API errors."""
from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.response import Response

from runtime import workflows
from runtime.models import WorkflowRun
from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.conversations import conversation_of


class StepSerializer(serializers.Serializer):
    stepId = serializers.CharField(source="node")
    status = serializers.CharField()
    request = serializers.CharField(source="request_name", help_text="the request a paused step waits for")
    attempts = serializers.IntegerField()
    error = serializers.CharField()
    startedAt = serializers.DateTimeField(source="started_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)


class RunSerializer(serializers.Serializer):
    workflowId = serializers.UUIDField(source="pk")
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=WorkflowRun.Status.choices)
    conversationId = serializers.CharField(source="conversation.external_id", allow_null=True)
    currentStep = serializers.CharField(source="current_step")
    inputs = serializers.JSONField()
    output = serializers.JSONField(allow_null=True)
    error = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    steps = StepSerializer(many=True, source="steps.all")


class ResumeSerializer(serializers.Serializer):
    workflowId = serializers.UUIDField()
    stepId = serializers.CharField(required=False, allow_blank=True, help_text="the paused step; empty: the run's one")
    values = serializers.JSONField(help_text="the data, checked against the request's JSON Schema")


def _refusal(exc: workflows.WorkflowError):
    details = [errors.detail(f"$.values.{e['field']}" if e["field"] else "$.values", e["message"]) for e in exc.errors]
    if exc.status == 404:
        return errors.not_found(exc.message)
    if exc.status == 409:
        return errors.conflict(exc.message)
    return errors.invalid(exc.message, details)


class WorkflowRunView(ApiView):
    permissions = {"GET": "flows.view_conversations"}

    def run(self, bot_id, workflow_id) -> WorkflowRun:
        try:
            return workflows.get_run(None, workflow_id, bot=self.bot(bot_id))
        except workflows.WorkflowError as exc:
            raise _refusal(exc) from None


class WorkflowRunDetail(WorkflowRunView):
    @operation(operation_id="getWorkflowRun", tags=["workflows"], responses=RunSerializer,
               description="A background workflow run with its steps.")
    def get(self, request, bot_id, workflow_id):
        return Response(RunSerializer(self.run(bot_id, workflow_id)).data)


class WorkflowRunRetry(WorkflowRunView):
    permissions = {"POST": "flows.change_bot"}

    @operation(operation_id="retryWorkflowRun", tags=["workflows"], request=None, responses={202: RunSerializer},
               description="Run the failed step of a failed run again from its start (409 unless it failed).")
    def post(self, request, bot_id, workflow_id):
        try:
            run = workflows.retry(self.run(bot_id, workflow_id))
        except workflows.WorkflowError as exc:
            raise _refusal(exc) from None
        run.refresh_from_db()  # where it is now (without a worker the step already ran)
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class WorkflowRunCancel(WorkflowRunView):
    permissions = {"POST": "flows.change_bot"}

    @operation(operation_id="cancelWorkflowRun", tags=["workflows"], request=None, responses={202: RunSerializer},
               description="Cancel a running or paused run; the conversation gets workflow_callback with "
                           "status cancelled (409 when it already ended).")
    def post(self, request, bot_id, workflow_id):
        try:
            run = workflows.cancel(self.run(bot_id, workflow_id))
        except workflows.WorkflowError as exc:
            raise _refusal(exc) from None
        run.refresh_from_db()  # where it is now (without a worker the step already ran)
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ConversationResumeWorkflow(ApiView):
    # Answering for the conversation's user is talking to the bot (the emulator does it).
    permissions = {"POST": "flows.change_bot"}

    @operation(operation_id="resumeWorkflow", tags=["workflows"], request=ResumeSerializer,
               responses={202: RunSerializer},
               description="Give a paused step of a run of this conversation the data its request asked for. "
                           "Data that does not fit the request's schema is a 400 naming each field "
                           "(details[].path `$.values.<field>`) and the run stays paused.")
    def post(self, request, bot_id, conversation_id):
        conversation = conversation_of(self.bot(bot_id), conversation_id)
        body = ResumeSerializer(data=request.data)
        if not body.is_valid():
            raise errors.invalid("the body needs workflowId and values",
                                 [errors.detail(f"$.{name}", " ".join(str(m) for m in messages))
                                  for name, messages in body.errors.items()])
        try:
            run = workflows.resume(conversation, body.validated_data["workflowId"],
                                   body.validated_data.get("stepId") or None, body.validated_data["values"])
        except workflows.WorkflowError as exc:
            raise _refusal(exc) from None
        run.refresh_from_db()  # where it is now (without a worker the step already ran)
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
