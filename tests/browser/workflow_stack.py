"""What the workflow browser tests share (tests/browser/webchat/test_webchat_workflows.py,
tests/browser/test_emulator_workflows.py): the production server and a real Celery worker
on a queue of their own, and the order workflow bot of docs/workflows.md with a process step
slow enough to watch its shimmer and a trigger that tells the user the workflow's progress."""
from __future__ import annotations

import copy
import time
from contextlib import contextmanager
from pathlib import Path

from integrations.chat_api.tests.server import celery_worker
from runtime.tests.bots import order_workflow_bot
from runtime.tests.live_server import serve

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ADDRESS = {"street": "1 Main St", "city": "Springfield", "zip": "62701"}
# The process step busy-waits in two code cards this long each (under the sandbox's 2 s
# per-run limit) before it computes the result: long enough to see "Processing the order".
BUSY_MS = 1200


@contextmanager
def workflow_stack(log_dir: Path, **env):
    """Yields the base URL of `scripts/serve.sh web` whose workflow steps (and the turns
    they cause) go to a Celery worker started here, both on the test database."""
    (log_dir / "worker").mkdir(parents=True, exist_ok=True)
    with celery_worker(log_dir / "worker") as queue, \
            serve(log_dir / "serve", workers=1, probe_path="/webchat/inject.js",
                  env={"ALLOWED_HOSTS": "127.0.0.1,localhost", "WHITENOISE_USE_FINDERS": "true",
                       "FLOWSTUDIO_WORKFLOW_QUEUE": queue, **env}) as url:
        _wait_for_worker(log_dir / "worker" / "worker.log")
        yield url


def _wait_for_worker(log_path: Path, timeout: float = 90) -> None:
    # The pages' expectations wait seconds, not a worker's start on a loaded machine.
    deadline = time.monotonic() + timeout
    while " ready." not in log_path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker did not start; its log:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)


def order_bot_definition() -> dict:
    definition = copy.deepcopy(order_workflow_bot("Order desk"))
    main = next(f for f in definition["flows"] if f["name"] == "main")
    main["nodes"] += [
        {"id": "on-progress", "kind": "trigger", "trigger": {"type": "workflow_notify"}, "next": "tell-progress"},
        {"id": "tell-progress", "kind": "standard", "next": None,
         "cards": [{"id": "progress-text", "type": "text", "text": "{{event.payload.payload.message}}"}]},
    ]
    workflow = next(f for f in definition["flows"] if f["name"] == "orderWorkflow")
    process = next(n for n in workflow["nodes"] if n["id"] == "process")
    busy = f"const t = Date.now(); while (Date.now() - t < {BUSY_MS}) {{}}"
    process["cards"][:0] = [{"id": f"slow{i}", "type": "code", "code": busy} for i in range(2)]
    return definition
