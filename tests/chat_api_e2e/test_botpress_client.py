"""Acceptance: the end-to-end tests shipped inside the official `@botpress/chat` 0.5.5 npm
package, run unchanged with vitest against the production server (scripts/serve.sh: uvicorn, two workers) (PostgreSQL test database,
Redis layer) serving examples/chat-hello.bot.json, imported and published as any bot is.

`scripts/setup-tests.sh` installs the npm project (`npm install` in this folder)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from integrations.chat_api.tests.conftest import make_bot
from integrations.chat_api.tests.server import live_server

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
