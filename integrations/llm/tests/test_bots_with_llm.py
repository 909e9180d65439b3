"""A bot's AI cards through the whole runtime: the workspace's provider (stored, key
encrypted), the gateway, the provider client, over real HTTP to the scripted server; usage
stored per call; failures in the error flow naming provider and status."""
import threading
import time

import pytest
from django.db import connection

from flows import services as flow_services
from integrations.llm import scripted_server as s
from integrations.llm.models import LLMProvider
from integrations.llm.services import save_provider
from runtime import async_turns, llm_usage, pg, turns
from runtime.models import LLMUsage, Message
from runtime.tests.bots import create_bot
from runtime.tests.server_loop import close_pools, run

pytestmark = pytest.mark.django_db(transaction=True)

MODELS = [{"id": "scripted-fast", "label": "Fast", "priceIn": 1.0, "priceOut": 2.0},
          {"id": "scripted-best", "label": "Best", "priceIn": 10.0, "priceOut": 30.0}]


def ai_bot(card=None, settings=None):
    card = card or {"id": "answer", "type": "ai_generate_text", "prompt": "{{event.preview}}", "stream": False}
    return {
        "format": "flowstudio.bot/1", "name": "AI", "settings": settings or {},
        "flows": [
            {"name": "main", "nodes": [
                {"id": "start", "kind": "start", "next": "talk"},
                {"id": "talk", "kind": "standard", "cards": [card, {"id": "again", "type": "wait"}], "next": "talk"},
            ]},
            {"name": "error", "nodes": [
                {"id": "entry", "kind": "entry", "next": "say"},
                {"id": "say", "kind": "standard", "cards": [
                    {"id": "oops", "type": "text", "text": "Error: {{event.error.message}}"}], "next": "exit"},
                {"id": "exit", "kind": "exit"},
            ]},
        ],
    }


def add_provider(server, name="acme", **extra):
    data = {"name": name, "base_url": server.url, "api_key": "sk-live-key-987", "models": MODELS,
            "default_model": "Fast", "max_retries": 0, "timeout_seconds": 5, **extra}
    return save_provider(flow_services.default_workspace(), data)


def texts(outcome):
    return [o.get("text") for o in outcome.outputs]


def chat(bot, *messages):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))
    return conversation, [turns.send_user_message(conversation, m) for m in messages]


def test_ai_card_answers_through_the_workspace_provider_and_usage_is_stored(scripted_llm_server):
    provider = add_provider(scripted_llm_server)
    assert "sk-live-key-987" not in provider.encrypted_api_key  # stored encrypted
    scripted_llm_server.script([s.text("Hello Ada!", tokens_in=2000, tokens_out=1000)])
    bot = create_bot(ai_bot())
    conversation, (outcome,) = chat(bot, "hi there")
    assert texts(outcome) == ["Hello Ada!"]
    sent = scripted_llm_server.requests[0]
    assert sent["model"] == "scripted-fast" and sent["messages"][-1] == {"role": "user", "content": "hi there"}
    assert scripted_llm_server.headers[0]["authorization"] == "Bearer sk-live-key-987"
    usage = LLMUsage.objects.get()
    assert (usage.bot_id, usage.conversation_id, usage.card, usage.purpose) == (
        bot.pk, conversation.pk, "answer", "ai_generate_text")
    assert (usage.provider, usage.model, usage.tokens_in, usage.tokens_out) == ("acme", "scripted-fast", 2000, 1000)
    assert usage.cost == pytest.approx(2 * 1.0 + 1 * 2.0)
    assert llm_usage.totals(bot) == {"calls": 1, "tokensIn": 2000, "tokensOut": 1000, "cost": 4.0, "models": [
        {"provider": "acme", "model": "scripted-fast", "calls": 1, "tokensIn": 2000, "tokensOut": 1000, "cost": 4.0}]}


def test_no_provider_is_a_clear_error_in_the_error_flow():
    bot = create_bot(ai_bot())
    _, (outcome,) = chat(bot, "hi")
    assert texts(outcome) == ["Error: ai_generate_text card 'answer': this bot has no LLM provider: "
                              "add one to its workspace (docs/ai.md, \"Providers\")"]


def test_provider_failure_names_provider_and_status(scripted_llm_server):
    add_provider(scripted_llm_server)
    scripted_llm_server.script([s.error(503, "the model is warming up")])
    bot = create_bot(ai_bot())
    _, (outcome,) = chat(bot, "hi")
    assert texts(outcome) == ["Error: ai_generate_text card 'answer': LLM provider 'acme' (HTTP 503): "
                              "the model is warming up"]
    error = next(t for t in outcome.trace if t["type"] == "error")
    assert error["message"].endswith("the model is warming up")


def test_error_flow_reads_provider_and_status_as_fields(scripted_llm_server):
    add_provider(scripted_llm_server)
    scripted_llm_server.script([s.error(429, "rate limited")])
    definition = ai_bot()
    definition["flows"][1]["nodes"][1]["cards"][0]["text"] = "{{event.error.provider}} {{event.error.status}}"
    _, (outcome,) = chat(create_bot(definition), "hi")
    assert texts(outcome) == ["acme 429"]


def test_bot_setting_and_card_choose_provider_and_model(scripted_llm_server):
    add_provider(scripted_llm_server, "acme", is_default=True)
    add_provider(scripted_llm_server, "other", default_model="scripted-best")
    scripted_llm_server.script([s.text("one"), s.text("two"), s.text("three")])
    by_setting = create_bot(ai_bot(settings={"llm": {"provider": "other"}}))
    by_card = create_bot(ai_bot(card={"id": "answer", "type": "ai_generate_text", "prompt": "x",
                                      "model": "acme/Best", "stream": False}))
    by_default = create_bot(ai_bot())
    for bot in (by_setting, by_card, by_default):
        chat(bot, "hi")
    assert [r["model"] for r in scripted_llm_server.requests] == ["scripted-best", "scripted-best", "scripted-fast"]
    assert list(LLMUsage.objects.order_by("id").values_list("provider", flat=True)) == ["other", "acme", "acme"]


def test_a_cards_provider_wins_over_the_bots(scripted_llm_server):
    add_provider(scripted_llm_server, "acme", is_default=True)
    add_provider(scripted_llm_server, "other", default_model="scripted-best")
    scripted_llm_server.script([s.text("one")])
    bot = create_bot(ai_bot(settings={"llm": {"provider": "other"}},
                            card={"id": "answer", "type": "ai_generate_text", "prompt": "x", "model": "acme/Fast",
                                  "stream": False}))
    chat(bot, "hi")
    assert scripted_llm_server.requests[0]["model"] == "scripted-fast"
    assert LLMUsage.objects.get().provider == "acme"


def test_unknown_provider_named_by_the_bot(scripted_llm_server):
    add_provider(scripted_llm_server)
    bot = create_bot(ai_bot(settings={"llm": {"provider": "nope"}}))
    _, (outcome,) = chat(bot, "hi")
    assert texts(outcome) == ["Error: ai_generate_text card 'answer': "
                              "the workspace has no LLM provider named 'nope'"]


def _busy_connections(database) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                       "AND (state <> 'idle' OR xact_start IS NOT NULL)", [database])
        return cursor.fetchone()[0]


def _wait_until_asked(server) -> None:
    """Until the model has the request, and a little longer: the turn is then waiting."""
    deadline = time.monotonic() + 5
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.requests, "the model was never asked"
    time.sleep(0.3)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the loop's executor is PostgreSQL's")
def test_a_turn_waiting_on_the_model_holds_no_connection_or_transaction(scripted_llm_server):
    add_provider(scripted_llm_server)
    scripted_llm_server.script([s.delay(1.5, "sorry for the wait")])
    bot = create_bot(ai_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))
    database = connection.settings_dict["NAME"]
    try:
        event = run(async_turns.receive_event(conversation, "text", {"text": "hi"}))
        done = {}
        worker = threading.Thread(target=lambda: done.update(
            outcomes=run(async_turns.process_pending(conversation.pk))))
        worker.start()
        _wait_until_asked(scripted_llm_server)
        assert _busy_connections(database) == 0, "a connection is busy or in a transaction while the turn waits on the model"
        worker.join(10)
        outcome = next(o for o in done["outcomes"] if o.event.pk == event.pk)
        assert [m.payload.get("text") for m in outcome.messages] == ["sorry for the wait"]
        assert LLMUsage.objects.filter(conversation=conversation).count() == 1
    finally:
        close_pools()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the loop's executor is PostgreSQL's")
def test_a_celery_workers_turn_waiting_on_the_model_holds_no_connection_or_transaction(scripted_llm_server):
    """A worker's turns (channels that acknowledge first, inactivity timeouts) run on the
    loop's executor too: the task body, called as a worker calls it."""
    from runtime import tasks

    add_provider(scripted_llm_server)
    scripted_llm_server.script([s.delay(1.5, "sorry for the wait")])
    bot = create_bot(ai_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))
    turns.receive_event(conversation, "text", {"text": "hi"})
    connection.close()  # the worker's own Django connection would be idle anyway
    try:
        done = {}
        worker = threading.Thread(target=lambda: done.update(count=tasks.process_conversation(conversation.pk)))
        worker.start()
        _wait_until_asked(scripted_llm_server)
        assert _busy_connections(connection.settings_dict["NAME"]) == 0, (
            "a connection is busy or in a transaction while the worker's turn waits on the model")
        worker.join(10)
        assert done["count"] == 1
        replies = Message.objects.filter(conversation=conversation, direction=Message.Direction.OUTGOING)
        assert [m.payload.get("text") for m in replies] == ["sorry for the wait"]
        assert LLMUsage.objects.filter(conversation=conversation).count() == 1
    finally:
        pg.close_all()  # the worker loop's pool, before the test database goes


def test_api_key_never_in_repr_or_logs(scripted_llm_server, caplog):
    provider = add_provider(scripted_llm_server)
    scripted_llm_server.script([s.error(401, "bad key")])
    chat(create_bot(ai_bot()), "hi")
    assert "sk-live-key-987" not in repr(provider) + caplog.text
    assert LLMProvider.objects.get().api_key == "sk-live-key-987"


def test_an_autonomous_node_calls_an_mcp_tool_and_answers(scripted_llm_server, mcp_test_server):
    from integrations.llm.mcp_tools import save_mcp_server

    add_provider(scripted_llm_server)
    save_mcp_server(flow_services.default_workspace(), {"name": "calc", "url": mcp_test_server.url})
    scripted_llm_server.script([s.tool("calc_add", {"a": 20, "b": 22}), s.text("20 and 22 make 42.")])
    definition = ai_bot()
    definition["flows"][0]["nodes"] = [
        {"id": "start", "kind": "start", "next": "agent"},
        {"id": "agent", "kind": "autonomous", "instructions": "Add numbers with the calc tools.",
         "mcpServers": ["calc"], "cards": []},
    ]
    _, (outcome,) = chat(create_bot(definition), "what is 20 + 22?")
    assert texts(outcome) == ["20 and 22 make 42."]
    offered = [t["function"]["name"] for t in scripted_llm_server.requests[0]["tools"]]
    assert "calc_add" in offered
    tool_message = scripted_llm_server.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool" and "42" in tool_message["content"]
    assert [t["type"] for t in outcome.trace if t["type"] in ("tool_call", "tool_result")] == ["tool_call", "tool_result"]
    assert LLMUsage.objects.filter(purpose="autonomous").count() == 2
