"""FLOWSTUDIO_LLM_DEMO: what the server process starts (studio/asgi.py calls
`llm_providers.start_demo`): a demo LLM on 127.0.0.1, the provider "demo" of the workspace, and
an AI card that answers through it with no account anywhere and no host allowed by settings;
the guard still refuses every other port of 127.0.0.1."""
import socket

import pytest

from flows import services as flow_services
from integrations.llm import demo
from integrations.llm.models import LLMProvider
from runtime import outbound, turns
from studio import llm_providers
from studio.people.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

BOT = {
    "format": "flowstudio.bot/1", "name": "Demo AI",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "talk"},
        {"id": "talk", "kind": "standard", "cards": [
            {"id": "answer", "type": "ai_generate_text", "prompt": "{{event.preview}}", "stream": False},
            {"id": "again", "type": "wait"}], "next": "talk"},
    ]}],
}


@pytest.fixture
def demo_llm(settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = []  # the demo must not need the broad exception
    yield
    demo.stop()


def chat(bot, message):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "newcomer"))
    return [o.get("text") for o in turns.send_user_message(conversation, message).outputs]


def test_an_ai_card_answers_through_the_demo_llm(demo_llm):
    provider = llm_providers.start_demo()
    assert provider.workspace == flow_services.default_workspace() and provider.name == "demo"
    bot = flow_services.import_bot(dict(BOT), workspace=flow_services.default_workspace())
    flow_services.publish(bot)
    assert chat(bot, "hello there, robot") == ["(demo) You said: hello there, robot"]


def test_the_demo_opens_its_own_port_only(demo_llm):
    provider = llm_providers.start_demo()
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(outbound.OutboundRefused, match="loopback"):
            outbound.request("GET", f"http://127.0.0.1:{port}/")
    assert str(demo.server().port) in provider.base_url


def test_a_restart_moves_the_provider_to_the_new_port_in_the_named_workspace(demo_llm, settings):
    workspace = Workspace.objects.create(name="Mine", slug="mine")
    settings.FLOWSTUDIO_LLM_DEMO_WORKSPACE = "mine"
    first = llm_providers.start_demo()
    demo.stop()
    second = llm_providers.start_demo()
    assert first.pk == second.pk and second.workspace == workspace
    assert LLMProvider.objects.get(pk=second.pk).base_url == demo.server().url
    bot = flow_services.import_bot(dict(BOT), workspace=workspace)
    flow_services.publish(bot)
    assert chat(bot, "still there?") == ["(demo) You said: still there?"]
