"""Background workflow benchmark (docs/workflows.md): N runs paused on a request at once, then
all provided.

1. N conversations each start a run of a two-step workflow; step 1 pauses on a request.
   Reported: the rows it takes (runs, steps, transcript entries, their table sizes) and the
   workers' memory while N runs wait (a paused run holds no task and no worker slot).
2. Every run is provided its data, one call after the other. Reported: the resume latency,
   from the provide call to the `WorkflowStepStarted` of step 2 as stored by the worker (p50,
   p99; goal p99 < 100 ms on the 2-core machine), and runs completed per second.

Two real Celery workers (solo pool) run the steps, on a queue of their own, against PostgreSQL
(DATABASE_URL, migrated) and Redis (REDIS_URL).

    DATABASE_URL=postgres://... REDIS_URL=redis://... python bench/workflows.py            # 1,000 runs
    python bench/workflows.py --runs 200                                                   # quicker
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_P99_MS = 100.0

BOT = {
    "format": "flowstudio.bot/1",
    "name": "Workflow bench",
    "settings": {"inactivityTimeoutMinutes": 0},
    "flows": [
        {"name": "main", "nodes": [{"id": "start", "kind": "start", "next": "idle"},
                                   {"id": "idle", "kind": "standard", "cards": [], "next": None}]},
        {"name": "bench", "kind": "workflow",
         "requests": {"data": {"type": "object", "properties": {"value": {"type": "string"}}, "required": ["value"]}},
         "variables": [{"name": "out", "type": "string", "output": True}],
         "nodes": [
             {"id": "entry", "kind": "entry", "next": "ask"},
             {"id": "ask", "kind": "standard", "message": "Waiting for data", "next": "work",
              "cards": [{"id": "r", "type": "workflowRequest", "request": "data", "message": "Give me a value"}]},
             {"id": "work", "kind": "standard", "message": "Working", "next": "done",
              "cards": [{"id": "l", "type": "log", "message": "got {{workflow.data.value}}"}]},
             {"id": "done", "kind": "exit"},
         ]},
    ],
}


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()
    from django.conf import settings

    if not settings.REDIS_URL or "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        raise SystemExit("bench/workflows.py needs DATABASE_URL (PostgreSQL, migrated) and REDIS_URL")
    return settings


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _wait(check, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    settings = _setup()
    queue = f"flowstudio-wf-bench-{uuid.uuid4().hex[:8]}"
    settings.FLOWSTUDIO_WORKFLOW_QUEUE = queue
    settings.CELERY_TASK_ALWAYS_EAGER = False

    from django.db import connection

    from flows import services
    from runtime import turns, workflows
    from runtime.models import Message, WorkflowRun, WorkflowStep
    from studio.celery import app

    bot = services.import_bot(BOT | {"name": f"Workflow bench {queue[-8:]}"}, workspace=services.default_workspace())
    services.publish(bot)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "studio.settings", "CELERY_TASK_ALWAYS_EAGER": "false",
           "FLOWSTUDIO_WORKFLOW_QUEUE": queue, "LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, "-m", "celery", "-A", "studio", "worker", "--pool=solo", "-Q", queue,
                               "-n", f"bench{i}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
                               "-l", "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
             for i in range(args.workers)]
    try:
        idle_rss = None
        time.sleep(3)
        idle_rss = sum(_rss_kb(p.pid) for p in procs)
        user = turns.get_or_create_user(bot, "bench")
        conversations = [turns.start_conversation(bot, user) for _ in range(args.runs)]
        t0 = time.monotonic()
        runs = [workflows.start(c, "bench", {}) for c in conversations]
        ids = [r.pk for r in runs]
        _wait(lambda: WorkflowRun.objects.filter(pk__in=ids, status="paused").count() == len(ids),
              "every run to pause", 600)
        paused_s = time.monotonic() - t0
        paused_rss = sum(_rss_kb(p.pid) for p in procs)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size('runtime_workflowrun'), "
                           "pg_total_relation_size('runtime_workflowstep')")
            run_bytes, step_bytes = cursor.fetchone()
        print(f"{len(ids)} runs paused in {paused_s:.1f} s: {WorkflowRun.objects.filter(pk__in=ids).count()} run rows, "
              f"{WorkflowStep.objects.filter(run_id__in=ids).count()} step rows, "
              f"{Message.objects.filter(conversation__in=conversations).count()} transcript entries; "
              f"tables {run_bytes / 1024:.0f} KiB (runs) + {step_bytes / 1024:.0f} KiB (steps) in total")
        print(f"workers' memory: {idle_rss / 1024:.0f} MiB idle, {paused_rss / 1024:.0f} MiB with the runs paused "
              f"({args.workers} workers)")

        provided_at = {}
        started = time.time()
        t1 = time.monotonic()
        for conversation, run in zip(conversations, runs):
            provided_at[str(run.pk)] = time.time()
            workflows.provide(conversation, "data", {"value": "x"}, workflow_id=run.pk, step="ask")
        provide_s = time.monotonic() - t1
        _wait(lambda: WorkflowRun.objects.filter(pk__in=ids, status="completed").count() == len(ids),
              "every run to complete", 900)
        last = max(WorkflowRun.objects.filter(pk__in=ids).values_list("finished_at", flat=True))
        latencies = []
        for message in Message.objects.filter(conversation__in=conversations, type="event",
                                              payload__payload__type="WorkflowStepStarted",
                                              payload__payload__stepId="work"):
            run_id = message.payload["payload"]["workflowId"]
            latencies.append((message.created_at.timestamp() - provided_at[run_id]) * 1000)
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        per_second = len(ids) / (last.timestamp() - started)
        print(f"provide calls: {provide_s * 1000 / len(ids):.1f} ms each")
        print(f"resume latency (provide -> WorkflowStepStarted of the next step): p50 {p50:.1f} ms, p99 {p99:.1f} ms "
              f"(goal p99 < {GOAL_P99_MS:.0f} ms: {'met' if p99 < GOAL_P99_MS else 'NOT met'})")
        print(f"runs completed per second with {args.workers} workers: {per_second:.1f}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
        services.delete_bot(bot) if hasattr(services, "delete_bot") else bot.delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
