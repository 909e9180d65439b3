"""The REST API of background workflow runs: read a run with its steps, resume a paused step
for a conversation (400 naming the field, run still paused), cancel, retry (docs/workflows.md)."""
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from runtime import turns, workflows
from runtime.models import WorkflowRun
from runtime.tests.bots import create_bot, order_workflow_bot
from studio.people import tokens
from studio.people.models import Membership, Role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    bot = create_bot(order_workflow_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ann"), external_id="c1")
    turns.send_user_message(conversation, "ann")
    developer = get_user_model().objects.create_user(username="dev@example.com", email="dev@example.com")
    Membership.objects.create(workspace=bot.workspace, user=developer, role=Role.DEVELOPER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(developer, 'wf')[1]}")
    return bot, conversation, WorkflowRun.objects.get(conversation=conversation), client


def test_resume_through_the_api_names_the_missing_field_then_completes(setup):
    bot, conversation, run, client = setup
    base = f"/api/v1/bots/{bot.pk}"
    response = client.get(f"{base}/workflows/{run.pk}")
    assert response.status_code == 200
    assert response.json()["status"] == "paused"
    assert [(s["stepId"], s["status"], s["request"]) for s in response.json()["steps"]] == [
        ("ask-order", "paused", "orderId")]
    ok = client.post(f"{base}/conversations/c1/resume-workflow",
                     {"workflowId": str(run.pk), "stepId": "ask-order", "values": {"orderId": "ORD-1"}}, format="json")
    assert ok.status_code == 202, ok.content
    bad = client.post(f"{base}/conversations/c1/resume-workflow",
                      {"workflowId": str(run.pk), "values": {"street": "1 Main St", "zip": "62701"}}, format="json")
    assert bad.status_code == 400, bad.content
    assert bad.json()["error"]["details"] == [{"path": "$.values.city", "message": "is required"}]
    assert client.get(f"{base}/workflows/{run.pk}").json()["status"] == "paused"
    done = client.post(f"{base}/conversations/c1/resume-workflow", {"workflowId": str(run.pk), "values": {
        "street": "1 Main St", "city": "Springfield", "zip": "62701"}}, format="json")
    assert done.status_code == 202 and done.json()["status"] == "completed"
    assert done.json()["output"] == {"result": "ORD-1 to Springfield"}


def test_cancel_then_retry_is_a_conflict(setup):
    bot, conversation, run, client = setup
    base = f"/api/v1/bots/{bot.pk}/workflows/{run.pk}"
    assert client.post(f"{base}/retry").status_code == 409
    cancelled = client.post(f"{base}/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"{base}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["error"]["message"]
    missing = client.get(f"/api/v1/bots/{bot.pk}/workflows/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


def test_resume_needs_the_right_to_talk_to_the_bot_and_is_404_outside_the_workspace(setup):
    bot, conversation, run, _ = setup
    viewer = get_user_model().objects.create_user(username="viewer@example.com", email="viewer@example.com")
    Membership.objects.create(workspace=bot.workspace, user=viewer, role=Role.VIEWER)
    outsider = get_user_model().objects.create_user(username="out@example.com", email="out@example.com")
    body = {"workflowId": str(run.pk), "values": {"orderId": "ORD-1"}}
    for user, expected in ((viewer, 403), (outsider, 404)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(user, 'x')[1]}")
        response = client.post(f"/api/v1/bots/{bot.pk}/conversations/c1/resume-workflow", body, format="json")
        assert response.status_code == expected, response.content
    run.refresh_from_db()
    assert run.status == "paused"
