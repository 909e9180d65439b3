"""FLOWSTUDIO_LLM_DEMO=1: AI cards answer with no account anywhere. The server process starts
the scripted LLM server in demo mode (integrations/llm/scripted_server.py: it echoes the
user's last message, "(demo) You said: ...") on 127.0.0.1 and a free port, lets the outbound
guard reach that one host:port (runtime/outbound.allow_endpoint, not every port of 127.0.0.1),
and stores it as the workspace's provider "demo" (its URL updated on every start: the port
changes). Off by default; the studio calls `start` (studio/llm_providers.start_demo)."""
from __future__ import annotations

import threading

from runtime import outbound

from .models import LLMProvider
from .scripted_server import ScriptedServer, demo_provider_settings
from .services import save_provider

NAME = "demo"
_lock = threading.Lock()
_server: ScriptedServer | None = None


def server() -> ScriptedServer:
    """This process's demo server, started on first use."""
    global _server
    with _lock:
        if _server is None:
            started = ScriptedServer(demo=True).start()
            outbound.allow_endpoint("127.0.0.1", started.port)
            _server = started
        return _server


def register(workspace) -> LLMProvider:
    """The workspace's provider "demo", pointing at this process's demo server."""
    settings = demo_provider_settings(server())
    data = {key: settings[key] for key in ("name", "base_url", "api_key", "models", "default_model")}
    data["max_retries"] = 0
    existing = LLMProvider.objects.filter(workspace=workspace, name=NAME).first()
    return save_provider(workspace, data, provider=existing)


def stop() -> None:
    global _server
    with _lock:
        if _server is not None:
            outbound.forget_endpoint("127.0.0.1", _server.port)
            _server.stop()
            _server = None
