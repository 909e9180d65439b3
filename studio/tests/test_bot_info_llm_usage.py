"""`manage.py bot info` says what a bot's LLM calls cost: calls, tokens in and out, cost, in
all and per provider/model, once the bot has called a model; nothing before."""
import io

import pytest
from django.core.management import call_command

from flows import services as flow_services
from integrations.llm import scripted_server as s
from integrations.llm.services import save_provider
from integrations.llm.testing import scripted_llm_server  # noqa: F401  (fixture)
from runtime import turns

pytestmark = pytest.mark.django_db(transaction=True)

BOT = {
    "format": "flowstudio.bot/1", "name": "Asker",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "fast"},
        {"id": "fast", "kind": "standard", "cards": [
            {"id": "quick", "type": "ai_generate_text", "prompt": "{{event.preview}}", "stream": False},
            {"id": "careful", "type": "ai_generate_text", "model": "Best", "prompt": "again", "stream": False},
            {"id": "again", "type": "wait"}], "next": "fast"},
    ]}],
}


def info(bot) -> list[str]:
    out = io.StringIO()
    call_command("bot", "info", str(bot.pk), stdout=out)
    return out.getvalue().splitlines()


def test_bot_info_shows_llm_usage_per_model_after_turns(scripted_llm_server):
    save_provider(flow_services.default_workspace(), {
        "name": "acme", "base_url": scripted_llm_server.url, "api_key": "k", "max_retries": 0,
        "default_model": "Fast", "models": [{"id": "acme-fast", "label": "Fast", "priceIn": 1, "priceOut": 2},
                                            {"id": "acme-best", "label": "Best", "priceIn": 10, "priceOut": 30}]})
    bot = flow_services.import_bot(dict(BOT), workspace=flow_services.default_workspace())
    flow_services.publish(bot)
    assert not any(line.startswith("llm usage") for line in info(bot))

    scripted_llm_server.script([s.text("one", tokens_in=1000, tokens_out=500),
                                s.text("two", tokens_in=2000, tokens_out=1000),
                                s.text("three", tokens_in=1000, tokens_out=500),
                                s.text("four", tokens_in=2000, tokens_out=1000)])
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))
    for message in ("hi", "hello again"):
        turns.send_user_message(conversation, message)

    lines = info(bot)
    start = lines.index(next(line for line in lines if line.startswith("llm usage")))
    # fast: 2 x (1 + 1) = 4; best: 2 x (20 + 30) = 100
    assert lines[start:] == [
        "llm usage: 4 calls, 6,000 tokens in, 3,000 out, cost 104.0000",
        "  acme/acme-best: 2 calls, 4,000 tokens in, 2,000 out, cost 100.0000",
        "  acme/acme-fast: 2 calls, 2,000 tokens in, 1,000 out, cost 4.0000",
    ]
