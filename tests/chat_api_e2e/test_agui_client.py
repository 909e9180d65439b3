"""Acceptance: the official `@ag-ui/client` 1.0.0 HttpAgent, unchanged, runs Flowstudio bots
through the AG-UI endpoint (docs/workflows.md, "AG-UI") of the production server
(scripts/serve.sh, two workers): a conversation turn whose answer streams from the scripted
LLM server, and the order workflow on a real Celery worker, its two interrupts resumed
(one payload missing a field, refused) until it completes.

`scripts/setup-tests.sh` installs the npm project (`npm install` in this folder)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from integrations.chat_api import auth
from integrations.chat_api.tests.conftest import make_bot
from integrations.chat_api.tests.server import celery_worker, live_server
from integrations.llm.testing import scripted_llm_server  # noqa: F401
from runtime.models import WorkflowRun
from runtime.tests.bots import order_workflow_bot

HERE = Path(__file__).resolve().parent
ADDRESS = {"street": "1 Main St", "city": "Springfield", "zip": "62701"}

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def agui_client(base, row, user, **env) -> dict:
    node = shutil.which("node")
    assert node, "Node.js is needed for the AG-UI e2e tests"
    assert (HERE / "node_modules" / "@ag-ui" / "client").is_dir(), \
        "run scripts/setup-tests.sh (npm install in tests/chat_api_e2e) first"
    run = subprocess.run([node, "agui_client.cjs"], cwd=HERE, capture_output=True, text=True, timeout=240,
                         env={**os.environ, "AGUI_URL": f"{base}/agui/{row.webhook_id}",
                              "USER_KEY": auth.user_key(row.encryption_key, user), **env})
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def types(run) -> list[str]:
    return [e["type"] for e in run["events"]]


def test_an_agui_client_runs_a_turn_whose_answer_streams(tmp_path, scripted_llm_server):
    from integrations.chat_api.tests.test_streaming import ANSWER, streaming_bot
    from integrations.llm import scripted_server as s

    scripted_llm_server.script([s.text(ANSWER, token_delay=0.05)])
    _, row = streaming_bot(scripted_llm_server)
    with live_server(tmp_path, FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS="127.0.0.1") as base:
        out = agui_client(base, row, "ag-ada", SCENARIO="turn", USER_TEXT="count to five")
    [run] = out["runs"]
    assert run["error"] is None, out
    kinds = types(run)
    assert kinds[0] == "RUN_STARTED" and kinds[-1] == "RUN_FINISHED", kinds
    assert run["events"][0]["threadId"] == out["threadId"]
    assert run["events"][-1]["outcome"] == {"type": "success"}
    pieces = [e["delta"] for e in run["events"] if e["type"] == "TEXT_MESSAGE_CONTENT"]
    # Streamed: several pieces as the model wrote them, one message, the whole answer.
    assert len(pieces) > 1 and "".join(pieces) == ANSWER, run["events"]
    assert kinds.count("TEXT_MESSAGE_START") == kinds.count("TEXT_MESSAGE_END") == 1
    assert [m["role"] for m in out["messages"]] == ["user", "assistant"]
    assert out["messages"][1]["content"] == ANSWER


def test_an_agui_client_runs_a_workflow_through_its_interrupts(tmp_path):
    _, row = make_bot(order_workflow_bot())
    answers = [{"orderId": "ORD-7"}, {"street": "1 Main St", "city": "Springfield"}, ADDRESS]
    with celery_worker(tmp_path) as queue, live_server(tmp_path, FLOWSTUDIO_WORKFLOW_QUEUE=queue) as base:
        out = agui_client(base, row, "ag-ann", SCENARIO="workflow", USER_TEXT="ann", ANSWERS=json.dumps(answers))
    worker_log = (tmp_path / "worker.log").read_text()[-3000:]
    first, second, refused, last = out["runs"]

    # The turn: the bot's message, the run started and its first step paused on a request.
    assert first["error"] is None, (out, worker_log)
    texts = [e["delta"] for e in first["events"] if e["type"] == "TEXT_MESSAGE_CONTENT"]
    assert texts == ["Working on your order."]
    started = [e for e in first["events"] if e["type"] == "CUSTOM" and e["name"] == "WorkflowStarted"]
    assert len(started) == 1, first["events"]
    workflow_id = started[0]["value"]["workflowId"]
    assert [e["stepName"] for e in first["events"] if e["type"] == "STEP_STARTED"] == ["ask-order"]
    end = first["events"][-1]
    assert end["type"] == "RUN_FINISHED" and end["outcome"]["type"] == "interrupt", first["events"]
    [asked] = end["outcome"]["interrupts"]
    assert asked["id"] == f"{workflow_id}:ask-order" and asked["reason"] == "input_required"
    assert asked["message"] == "Please provide the order ID."
    assert asked["responseSchema"]["required"] == ["orderId"]
    assert asked["metadata"]["dataPoints"][0]["key"] == "orderId"
    assert first["pending"][0]["id"] == asked["id"]  # the client holds it as pending

    # Resumed with the order id: that step finishes, the next one asks for the address.
    assert second["error"] is None, (second, worker_log)
    steps = [(e["type"], e["stepName"]) for e in second["events"] if e["type"].startswith("STEP_")]
    assert steps == [("STEP_STARTED", "ask-order"), ("STEP_FINISHED", "ask-order"),
                     ("STEP_STARTED", "ask-address"), ("STEP_FINISHED", "ask-address")], second["events"]
    [address] = second["events"][-1]["outcome"]["interrupts"]
    assert address["id"] == f"{workflow_id}:ask-address"
    assert [p["key"] for p in address["metadata"]["dataPoints"]] == ["street", "city", "zip"]

    # A payload without the zip: RUN_ERROR naming the field; the step stays paused.
    assert types(refused) == ["RUN_STARTED", "RUN_ERROR"], refused
    error = refused["events"][-1]
    assert error["code"] == "INVALID_PAYLOAD" and "zip: is required" in error["message"]

    # The full address: the rest of the workflow runs and the run finishes with its output.
    assert last["error"] is None, (last, worker_log)
    done = last["events"][-1]
    assert done["type"] == "RUN_FINISHED" and done["outcome"] == {"type": "success"}, last["events"]
    assert done["result"] == {"workflows": [{"workflowId": workflow_id, "status": "completed",
                                             "output": {"result": "ORD-7 to Springfield"}}]}
    assert ("STEP_FINISHED", "process") in [(e["type"], e.get("stepName")) for e in last["events"]]
    notes = [e["value"]["type"] for e in last["events"] if e["type"] == "CUSTOM"]
    assert notes[-1] == "WorkflowCompleted"
    assert last["pending"] == []
    run = WorkflowRun.objects.get(pk=workflow_id)
    assert run.status == "completed" and run.output == {"result": "ORD-7 to Springfield"}
