"""`scripts/run-studio.sh` as a new user runs it: on the embedded default (SQLite, no Redis,
eager tasks), on the port PORT names, on 127.0.0.1 only, printing PUBLIC_URL's URLs, without
root or any test tool (apt, sudo and npm are stubs here that record being called), and with
the periodic work running in the server: a due inactivity timeout and a due state expiry
fire without any Celery beat or worker; with FLOWSTUDIO_LLM_DEMO=1 the server's demo LLM is
the first owner's workspace's provider "demo"."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PUBLIC_URL = "https://bots.example.test"
TIMEOUT_TEXT = "Are you still there? Starting over."

# Made before the studio starts, so the server's first beat tick finds both already due.
PREPARE = """
import json
from datetime import timedelta
from django.utils import timezone
from runtime import state, turns
from runtime.models import Conversation, State
from runtime.tests.bots import create_bot, echo_bot

bot = create_bot(echo_bot("Timeout probe"))
conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
turns.send_user_message(conversation, "hi")
Conversation.objects.filter(pk=conversation.pk).update(timeout_at=timezone.now() - timedelta(seconds=5))
scope = state.resolve_scope(bot, "conversation", conversation.external_id)
probe = state.set_state(scope, "probe", {"n": 1}, expiry=60)
State.objects.filter(pk=probe.pk).update(expires_at=timezone.now() - timedelta(seconds=5))
print(json.dumps({"conversation": str(conversation.pk), "state": probe.pk}))
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening_addresses(port):
    """Local addresses of the sockets listening on `port`, read from /proc/net/tcp{,6}."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run-studio")
    stubs = tmp / "bin"
    stubs.mkdir()
    calls = tmp / "forbidden-calls.log"
    for tool in ("apt-get", "apt", "sudo", "npm", "npx"):
        stub = stubs / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\nexit 1\n')
        stub.chmod(0o755)
    port = _free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "FLOWSTUDIO_EMBEDDED_BEAT", "STUDIO_LIVE_TEST_DB"}}
    env.update({
        "PATH": f"{stubs}:{env['PATH']}",
        "SQLITE_PATH": str(tmp / "db.sqlite3"),
        "FLOWSTUDIO_VAR_DIR": str(tmp / "var"),
        "PORT": str(port),
        "PUBLIC_URL": PUBLIC_URL,
        "FLOWSTUDIO_ADMIN_PASSWORD": "a-long-test-password-1",
        "LOG_LEVEL": "INFO",
        "FLOWSTUDIO_LLM_DEMO": "1",
    })
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    prepared = subprocess.run([PYTHON, "manage.py", "shell", "-c", PREPARE], cwd=ROOT, env=env,
                              check=True, capture_output=True, text=True)
    ids = json.loads(prepared.stdout.strip().splitlines()[-1])
    log = tmp / "run-studio.log"
    with log.open("w") as out:
        process = subprocess.Popen(["bash", "scripts/run-studio.sh"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, f"run-studio.sh exited {process.returncode}:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"the studio did not answer on :{port}:\n{log.read_text()}"
            time.sleep(0.5)
        yield {"port": port, "log": log, "calls": calls, "db": tmp / "db.sqlite3", **ids}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _poll(db, query, args, *, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        with sqlite3.connect(db, timeout=10) as connection:
            rows = connection.execute(query, args).fetchall()
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def test_it_serves_on_port_from_env_on_loopback_only(studio):
    addresses = _listening_addresses(studio["port"])
    # 0100007F is 127.0.0.1 in /proc/net/tcp's byte order; nothing listens on 0.0.0.0 or ::.
    assert addresses and set(addresses) == {"0100007F"}, addresses


def test_it_prints_urls_from_public_url(studio):
    output = studio["log"].read_text()
    assert f"Studio:                          {PUBLIC_URL}/" in output
    assert f"{PUBLIC_URL}/bots/" in output and f"{PUBLIC_URL}/admin/" in output
    assert "http://127.0.0.1:8000" not in output and "0.0.0.0" not in output


def test_it_installs_no_test_tools_and_needs_no_root(studio):
    assert not studio["calls"].exists(), studio["calls"].read_text()
    assert "chromium" not in studio["log"].read_text().lower()


def test_an_inactivity_timeout_fires_without_celery_beat(studio):
    # The timeout's reply is the conversation's second outgoing message.
    rows = _poll(studio["db"], "SELECT payload FROM runtime_message WHERE conversation_id = ? "
                 "AND direction = 'outgoing' ORDER BY seq LIMIT -1 OFFSET 1", (studio["conversation"],))
    assert [json.loads(payload).get("text") for (payload,) in rows] == [TIMEOUT_TEXT]


def test_a_state_expiry_fires_without_celery_beat(studio):
    events = _poll(studio["db"], "SELECT payload FROM runtime_event WHERE conversation_id = ? "
                   "AND type = 'state_expired' AND status = 'processed'", (studio["conversation"],))
    assert [json.loads(payload)["state"]["name"] for (payload,) in events] == ["probe"]
    with sqlite3.connect(studio["db"]) as connection:
        assert connection.execute("SELECT COUNT(*) FROM runtime_state WHERE id = ?",
                                  (studio["state"],)).fetchone() == (0,)


def test_the_reloader_runs_one_beat(studio):
    # runserver's autoreloader is a parent process that does not serve; only its child starts
    # the beat thread, so the schedule is announced once.
    assert studio["log"].read_text().count("embedded beat started") == 1



def test_the_demo_llm_is_the_owners_workspace_provider(studio):
    output = studio["log"].read_text()
    assert 'Demo LLM:                        on: AI cards answer "(demo) You said: ..."' in output
    demo_bot = json.loads((ROOT / "examples" / "demo.bot.json").read_text())["name"]
    # The workspace run-studio.sh loads the demo bot into (here the Default one, which the
    # owner adopted: the test made a bot there first).
    rows = _poll(studio["db"], "SELECT p.base_url FROM llm_llmprovider p JOIN flows_bot b "
                 "ON b.workspace_id = p.workspace_id WHERE p.name = 'demo' AND b.name = ?", (demo_bot,))
    assert len(rows) == 1, rows
    base_url = rows[0][0]
    request = urllib.request.Request(base_url + "/chat/completions", method="POST",
                                     headers={"content-type": "application/json"},
                                     data=json.dumps({"model": "scripted-fast", "messages": [
                                         {"role": "user", "content": "hi demo"}]}).encode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        reply = json.load(answer)
    assert reply["choices"][0]["message"]["content"] == "(demo) You said: hi demo"
    # Only the serving child starts it, not runserver's reloader.
    assert output.count("demo LLM at") == 1
