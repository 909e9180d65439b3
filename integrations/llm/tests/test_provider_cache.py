"""The providers a bot's turns use are cached in the process (integrations/llm/services.py):
a turn of a bot whose providers are cached runs no query and opens no database connection,
and a provider saved or deleted in this process is what the next turn uses."""
import threading
import time

import pytest

from flows import services as flow_services
from integrations.llm import scripted_server as s
from integrations.llm import services
from integrations.llm.models import LLMProvider
from integrations.llm.services import save_provider
from runtime import llm_gateway
from runtime.engine.llm import LLMError, LLMRequest
from runtime.tests.bots import create_bot

from .test_bots_with_llm import add_provider, ai_bot, chat, texts

pytestmark = pytest.mark.django_db(transaction=True)


def ask(bot):
    return llm_gateway.BotLLM(bot.pk).complete(LLMRequest(messages=({"role": "user", "content": "hi"},)))


def test_a_turn_of_a_bot_whose_providers_are_cached_runs_no_query_and_opens_no_connection(scripted_llm_server):
    add_provider(scripted_llm_server)
    scripted_llm_server.script([s.text("first"), s.text("second")])
    bot = create_bot(ai_bot())
    assert ask(bot).text == "first"  # looks the providers up once
    seen = {}

    def second_turn():  # on a thread of its own, as an engine thread: no connection yet
        from django.db import connection as thread_connection

        queries = []
        with thread_connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
            seen["text"] = ask(bot).text
        seen["queries"], seen["connected"] = queries, thread_connection.connection is not None

    worker = threading.Thread(target=second_turn)
    worker.start()
    worker.join(10)
    assert seen == {"text": "second", "queries": [], "connected": False}


def test_a_saved_provider_is_what_the_next_turn_uses(scripted_llm_server):
    provider = add_provider(scripted_llm_server)
    scripted_llm_server.script([s.text("one"), s.text("two"), s.text("three")])
    bot = create_bot(ai_bot())
    chat(bot, "hi")
    save_provider(provider.workspace, {"default_model": "Best"}, provider=provider)
    chat(bot, "again")
    save_provider(provider.workspace, {"name": "other", "base_url": scripted_llm_server.url, "api_key": "k",
                                       "default_model": "model-of-other", "is_default": True})
    chat(bot, "and again")
    assert [r["model"] for r in scripted_llm_server.requests] == ["scripted-fast", "scripted-best", "model-of-other"]


def test_a_deleted_provider_is_gone_for_the_next_turn(scripted_llm_server):
    provider = add_provider(scripted_llm_server)
    scripted_llm_server.script([s.text("answered")])
    bot = create_bot(ai_bot())
    _, (first,) = chat(bot, "hi")
    provider.delete()  # what the REST API's delete does (studio/llm_providers.py)
    _, (second,) = chat(bot, "hi")
    assert texts(first) == ["answered"]
    assert texts(second) == ["Error: ai_generate_text card 'answer': this bot has no LLM provider: "
                             "add one to its workspace (docs/ai.md, \"Providers\")"]


def test_a_provider_added_after_a_turn_without_one_is_used_at_once(scripted_llm_server):
    bot = create_bot(ai_bot())
    with pytest.raises(LLMError, match="no LLM provider"):
        ask(bot)
    add_provider(scripted_llm_server)
    scripted_llm_server.script([s.text("now there is one")])
    assert ask(bot).text == "now there is one"


def test_the_cache_expires_and_holds_a_bounded_number_of_bots(scripted_llm_server, monkeypatch):
    add_provider(scripted_llm_server)
    bots = [create_bot(ai_bot()) for _ in range(3)]
    cache = services._ProviderCache(ttl=0.5, size=2)
    monkeypatch.setattr(services, "_cache", cache)
    for bot in bots:
        services.resolve(bot.pk)
    assert len(cache) == 2
    # Changed behind the process's back (another server process): seen once the entry expires.
    LLMProvider.objects.update(default_model="Best")
    assert services.resolve(bots[2].pk).configs["acme"].default_model == "Fast"
    time.sleep(0.6)
    assert services.resolve(bots[2].pk).configs["acme"].default_model == "Best"


def test_the_cached_providers_never_show_the_api_key(scripted_llm_server):
    add_provider(scripted_llm_server)
    bot = create_bot(ai_bot())
    cached = services.resolve(bot.pk)
    shown = repr(cached) + repr(cached.configs) + repr(services._cache._entries)
    assert "sk-live-key-987" not in shown
    assert cached.configs["acme"].api_key == "sk-live-key-987"
