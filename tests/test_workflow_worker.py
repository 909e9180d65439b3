"""Background workflows through real Celery workers on the loopback Redis, against the test
database (PostgreSQL): the order workflow of docs/workflows.md end to end, and a worker
killed with SIGKILL in the middle of a step, after which a new worker completes the run
with the step's effects applied once."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from integrations.chat_api.tests.server import server_env, stop_process
from runtime import turns, workflows
from runtime.models import Event, Message, WorkflowRun, WorkflowStep
from runtime.tests.bots import create_bot, order_workflow_bot
from studio.celery import app

PROJECT_DIR = Path(__file__).resolve().parent.parent
ADDRESS = {"street": "1 Main St", "city": "Springfield", "zip": "62701"}
# Each Execute Code card busy-waits this long (under the sandbox's per-run limit), so the
# process step takes a few seconds: long enough to kill the worker in the middle of it.
BUSY_MS = 1500
BUSY_CARDS = 3

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue(settings):
    # A queue of our own, so a worker started by a parallel test run cannot take our tasks.
    name = f"flowstudio-wf-test-{uuid.uuid4().hex}"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.FLOWSTUDIO_WORKFLOW_QUEUE = name
    yield name
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(name)


class Workers:
    def __init__(self, queue, tmp_path):
        self.queue, self.tmp_path, self.procs = queue, tmp_path, []

    def start(self):
        env = server_env(FLOWSTUDIO_WORKFLOW_QUEUE=self.queue, FLOWSTUDIO_WORKFLOW_LEASE_GRACE_SECONDS="1")
        log = self.tmp_path / f"worker{len(self.procs)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "studio", "worker", "--pool=solo", "-c", "1", "-Q", self.queue,
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
                cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append((proc, log))
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for _, log in self.procs)

    def stop(self):
        for proc, _ in self.procs:
            if proc.poll() is None:
                stop_process(proc)


@pytest.fixture
def workers(queue, tmp_path):
    pool = Workers(queue, tmp_path)
    yield pool
    pool.stop()


def wait_for(check, workers, what, timeout=90, every=None):
    deadline = time.monotonic() + timeout
    last = 0.0
    while time.monotonic() < deadline:
        if every is not None and time.monotonic() - last > 2:
            last = time.monotonic()
            every()
        if check():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}; worker logs:\n{workers.logs()}")


def run_status(run, status, step=None):
    def check():
        run.refresh_from_db()
        return run.status == status and (step is None or run.current_step == step)
    return check


def slow_order_bot():
    definition = order_workflow_bot(step_timeout=8)
    process = definition["flows"][1]["nodes"][3]
    busy = f"const t = Date.now(); while (Date.now() - t < {BUSY_MS}) {{}}"
    process["cards"][:0] = [{"id": f"busy{i}", "type": "code", "code": busy} for i in range(BUSY_CARDS)]
    return definition


def start_order(definition):
    bot = create_bot(definition)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    turns.send_user_message(conversation, "ann")
    return conversation, WorkflowRun.objects.get(conversation=conversation)


def test_the_order_workflow_runs_in_a_real_worker(workers):
    conversation, run = start_order(order_workflow_bot())
    workers.start()
    wait_for(run_status(run, "paused", "ask-order"), workers, "the order id request")
    with pytest.raises(workflows.WorkflowError, match="orderId: is required"):
        workflows.provide(conversation, "orderId", {})
    workflows.provide(conversation, "orderId", {"orderId": "ORD-12345"}, step="ask-order")
    wait_for(run_status(run, "paused", "ask-address"), workers, "the address request")
    with pytest.raises(workflows.WorkflowError, match="zip: is required"):
        workflows.provide(conversation, "shippingAddress", {"street": "1 Main St", "city": "Springfield"})
    run.refresh_from_db()
    assert run.status == "paused"
    workflows.resume(conversation, run.pk, "ask-address", ADDRESS)
    wait_for(run_status(run, "completed"), workers, "the run to complete")
    assert run.output == {"result": "ORD-12345 to Springfield"}
    notified = [e.payload for e in Event.objects.filter(conversation=conversation, type="workflow_notify")]
    assert sorted(n["payload"]["percentage"] for n in notified) == [50, 100]
    events = [m.payload["payload"]["type"] for m in Message.objects.filter(conversation=conversation, type="event")
              .order_by("seq") if m.payload["payload"]["type"].startswith("Workflow")]
    assert events[0] == "WorkflowStarted" and events[-1] == "WorkflowCompleted"
    assert events.count("WorkflowInterventionRequired") == 2
    # The conversation's own worker turns handled the events: the callback was processed.
    wait_for(lambda: Event.objects.filter(conversation=conversation, type="workflow_callback",
                                          status="processed").exists(), workers, "the callback turn")


def test_a_worker_killed_mid_step_loses_no_run_and_the_step_takes_effect_once(workers):
    conversation, run = start_order(slow_order_bot())
    first = workers.start()
    wait_for(run_status(run, "paused", "ask-order"), workers, "the order id request")
    workflows.provide(conversation, "orderId", {"orderId": "ORD-9"})
    wait_for(run_status(run, "paused", "ask-address"), workers, "the address request")
    workflows.provide(conversation, "shippingAddress", ADDRESS)

    def processing():
        step = WorkflowStep.objects.filter(run=run, node="process").first()
        return step is not None and step.status == "running" and step.attempts == 1
    wait_for(processing, workers, "the process step to start")
    time.sleep(BUSY_MS / 1000)  # well inside the step's busy cards
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)

    run.refresh_from_db()
    assert run.status == "running" and run.current_step == "process"
    assert not Message.objects.filter(conversation=conversation, payload__payload__type="WorkflowStepCompleted",
                                      payload__payload__stepId="process").exists()

    workers.start()
    # The beat task, as beat would send it every 10 s: nothing happens until the lease expires.
    wait_for(run_status(run, "completed"), workers, "a new worker to complete the run", timeout=120,
             every=lambda: app.send_task("runtime.tasks.recover_workflows", queue=workers.queue))
    assert run.output == {"result": "ORD-9 to Springfield"}
    step = WorkflowStep.objects.get(run=run, node="process")
    assert step.status == "completed" and step.attempts >= 2
    # The step ran twice; what it did inside Flowstudio happened once.
    hundred = Event.objects.filter(conversation=conversation, type="workflow_notify",
                                   payload__step="progress-100")
    assert hundred.count() == 1
    completed = Message.objects.filter(conversation=conversation, payload__payload__type="WorkflowStepCompleted",
                                       payload__payload__stepId="process")
    assert completed.count() == 1
    started = Message.objects.filter(conversation=conversation, payload__payload__type="WorkflowStepStarted",
                                     payload__payload__stepId="process")
    assert started.count() == 1
