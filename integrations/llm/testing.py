"""The reusable pytest fixture of the scripted LLM server (integrations/llm/scripted_server.py):
`scripted_llm_server` yields a started ScriptedServer, allows 127.0.0.1 through the outbound
guard for the test, and stops the server afterwards. Import it into a conftest.py."""
import pytest

from .scripted_server import ScriptedServer


@pytest.fixture
def scripted_llm_server(settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    server = ScriptedServer().start()
    try:
        yield server
    finally:
        server.stop()
