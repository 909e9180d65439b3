"""Acceptance: the end-to-end tests shipped inside the official `@botpress/chat` 0.5.5 npm
package, run unchanged with vitest against the production server (scripts/serve.sh: uvicorn, two workers) (PostgreSQL test database,
Redis layer) serving examples/chat-hello.bot.json, imported and published as any bot is.

`scripts/setup-tests.sh` installs the npm project (`npm install` in this folder)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from integrations.chat_api.tests.conftest import make_bot
from integrations.chat_api.tests.server import live_server
from integrations.llm.testing import scripted_llm_server  # noqa: F401

HERE = Path(__file__).resolve().parent


@pytest.mark.django_db(transaction=True)
def test_the_botpress_chat_client_e2e_suite_passes(tmp_path):
    npx = shutil.which("npx")
    assert npx, "Node.js (npx) is needed for the Chat API e2e tests"
    assert (HERE / "node_modules" / "@botpress" / "chat" / "e2e").is_dir(), \
        "run scripts/setup-tests.sh (npm install in tests/chat_api_e2e) first"
    _, row = make_bot()
    with live_server(tmp_path) as base:
        env = {**os.environ, "API_URL": f"{base}/chat/{row.webhook_id}", "ENCRYPTION_KEY": row.encryption_key,
               "CI": "true", "NO_COLOR": "1"}
        run = subprocess.run([npx, "vitest", "run", "--config", "vitest.config.mjs", "--reporter=verbose"],
                             cwd=HERE, env=env, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-8000:]
    assert "Tests  23 passed (23)" in output, output[-4000:]


@pytest.mark.django_db(transaction=True)
def test_the_botpress_client_takes_a_streamed_answer_and_ignores_the_pieces(tmp_path, scripted_llm_server):
    """Flowstudio's own signals (`message_delta`) on the stream: the official client parses
    none of its schemas from them, emits them as `unknown` and goes on; the bot's message
    arrives parsed as ever."""
    from integrations.chat_api.tests.test_streaming import ANSWER, serve, streaming_bot
    from integrations.llm import scripted_server as s

    node = shutil.which("node")
    assert node, "Node.js is needed for the Chat API e2e tests"
    scripted_llm_server.script([s.text(ANSWER, token_delay=0.05)])
    _, row = streaming_bot(scripted_llm_server)
    with serve(tmp_path) as base:
        run = subprocess.run([node, "streamed_answer.cjs"], cwd=HERE, capture_output=True, text=True, timeout=120,
                             env={**os.environ, "API_URL": f"{base}/chat/{row.webhook_id}"})
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["message"]["payload"]["text"] == ANSWER and result["message"]["isBot"] is True
    pieces = [json.loads(raw) for raw in result["unknown"]]
    assert pieces and {p["type"] for p in pieces} == {"message_delta"}
    assert ANSWER.startswith("".join(p["data"]["delta"] for p in pieces))
