"""A process that ran bot code exits cleanly. Contexts are closed on the thread that made
them before the interpreter stops its threads; closing them later crashed the process with
a segmentation fault at exit (the end of a pytest run, a Celery worker stopping)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import threading
from runtime.engine import sandbox

box = sandbox.JSSandbox()

def work():
    assert sandbox.syntax_error("return 1") is None
    assert box.run_code("bot-1", "return 1 + 1", {"bot": {}}, writable=("bot",)).value == 2

thread = threading.Thread(target=work)
thread.start()
thread.join()
print("ran")
"""


def test_a_process_that_ran_code_on_another_thread_exits_cleanly():
    for _ in range(3):  # the crash did not come every time
        done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert (done.returncode, done.stdout.strip()) == (0, "ran"), done.stderr[-2000:]
