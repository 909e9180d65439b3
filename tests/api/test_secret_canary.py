"""No secret reaches a log line: configuration values, Chat API keys and webhook secrets, LLM
provider keys, MCP server tokens and headers, and personal access tokens (right and wrong) are set and used while every log record of every
logger is captured at DEBUG and formatted the way production writes it (JSON, with extras
and tracebacks) and the way development does (plain text)."""
import io
import logging

import pytest
from django.core.management import call_command
from pythonjsonlogger.json import JsonFormatter
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

CONFIG_CANARY = "canary-config-7f3a9c1e5b"
CHAT_KEY_CANARY = "canary-chat-api-key-2d8e4b6a0c91"
WEBHOOK_CANARY = "canary-webhook-secret-9b1c3e5d7f"
WRONG_TOKEN_CANARY = "fs_pat_canary-wrong-token-4e6a8c0b2d"
LLM_KEY_CANARY = "sk-canary-llm-provider-8a2c4e6f0b"
MCP_TOKEN_CANARY = "canary-mcp-token-6d8f0a2c4e"
MCP_HEADER_CANARY = "canary-mcp-header-1f3b5d7e9a"


class _Everything(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []
        self.formatters_ = [JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"),
                            logging.Formatter("%(levelname)s %(name)s %(message)s")]

    def emit(self, record):
        for formatter in self.formatters_:
            self.lines.append(formatter.format(record))


@pytest.fixture
def every_log_line():
    handler = _Everything()
    root = logging.getLogger()
    old_level = root.level
    # Loggers that stop propagation or have their own level still reach the handler.
    loggers = [root, *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict))]
    old = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler.lines
    for logger in loggers:
        logger.removeHandler(handler)
        logger.setLevel(old[logger])
    root.setLevel(old_level)


def test_no_secret_appears_in_any_log_line(world, owner_client, every_log_line):
    bot = f"/api/v1/bots/{world.bot.pk}"
    for environment in ("draft", "production"):
        assert owner_client.put(f"{bot}/config/API_KEY/{environment}", {"value": CONFIG_CANARY},
                                format="json").status_code == 200
    assert owner_client.get(f"{bot}/config/API_KEY").status_code == 200
    assert owner_client.get(f"{bot}/export").status_code == 200

    assert owner_client.patch(f"{bot}/chat-api", {"enabled": True, "encryptionKey": CHAT_KEY_CANARY,
                                                  "webhookSecret": WEBHOOK_CANARY}, format="json").status_code == 200
    assert owner_client.get(f"{bot}/chat-api/key").json()["encryptionKey"] == CHAT_KEY_CANARY
    # Refused changes log a warning for the request: still without the value.
    assert owner_client.patch(f"{bot}/chat-api", {"encryptionKey": "short"}, format="json").status_code == 400

    providers = f"/api/v1/workspaces/{world.workspace.slug}/llm-providers"
    added = owner_client.post(providers, {"name": "canary", "base_url": "https://llm.example.net/v1",
                                          "api_key": LLM_KEY_CANARY}, format="json")
    assert added.status_code == 201
    # A refused change with the key in it: still not logged.
    assert owner_client.patch(f"{providers}/{added.json()['id']}", {"api_key": LLM_KEY_CANARY, "base_url": "ftp://x"},
                              format="json").status_code == 400
    assert owner_client.get(providers).status_code == 200

    servers = f"/api/v1/workspaces/{world.workspace.slug}/mcp-servers"
    server = owner_client.post(servers, {"name": "canary", "url": "https://mcp.example.invalid/mcp",
                                         "token": MCP_TOKEN_CANARY, "headers": {"X-Key": MCP_HEADER_CANARY},
                                         "timeout_seconds": 2}, format="json")
    assert server.status_code == 201
    assert owner_client.patch(f"{servers}/{server.json()['id']}", {"token": MCP_TOKEN_CANARY, "url": "ftp://x"},
                              format="json").status_code == 400
    # A failing test of the server (it cannot be reached) logs nothing secret either.
    assert owner_client.post(f"{servers}/{server.json()['id']}/test").json()["ok"] is False

    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {WRONG_TOKEN_CANARY}")
    assert stranger.get("/api/v1/workspaces").status_code == 401

    out = io.StringIO()
    call_command("rotate_secrets", stdout=out, stderr=out)

    raw_token = world.raw_tokens["owner"]
    assert every_log_line, "the capture saw no log record at all"
    text = "\n".join(every_log_line) + out.getvalue()
    for canary in (CONFIG_CANARY, CHAT_KEY_CANARY, WEBHOOK_CANARY, WRONG_TOKEN_CANARY, LLM_KEY_CANARY,
                   MCP_TOKEN_CANARY, MCP_HEADER_CANARY, raw_token):
        assert canary not in text, f"{canary[:12]}… was written to a log line"
