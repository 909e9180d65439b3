"""On PostgreSQL a turn's usage rows are written in the turn's own write transaction
(runtime/async_turns.py), and a call the provider billed stays counted when the write finds
that what the turn read has changed and the turn runs again."""
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from integrations.llm import scripted_server as s
from runtime import async_turns, turns
from runtime.models import EndUser, LLMUsage
from runtime.tests.bots import create_bot
from runtime.tests.server_loop import close_pools, run

from .test_bots_with_llm import add_provider, ai_bot

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="the loop's executor is PostgreSQL's")]


def test_usage_is_stored_with_the_turn(scripted_llm_server):
    add_provider(scripted_llm_server)
    scripted_llm_server.script([s.text("hello", tokens_in=10, tokens_out=5)])
    bot = create_bot(ai_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))
    try:
        run(async_turns.receive_event(conversation, "text", {"text": "hi"}))
        (outcome,) = run(async_turns.process_pending(conversation.pk))
    finally:
        close_pools()
    assert [m.payload.get("text") for m in outcome.messages] == ["hello"]
    usage = LLMUsage.objects.get(conversation=conversation)
    assert (usage.provider, usage.tokens_in, usage.tokens_out, usage.card) == ("acme", 10, 5, "answer")


def test_a_turn_run_again_keeps_the_usage_of_both_runs(scripted_llm_server):
    add_provider(scripted_llm_server)
    slow = s.delay(1.0, "first run")
    slow.tokens_in, slow.tokens_out = 7, 3
    scripted_llm_server.script([slow, s.text("second run", tokens_in=8, tokens_out=4)])
    bot = create_bot(ai_bot())
    user = turns.get_or_create_user(bot, "ada")
    conversation = turns.start_conversation(bot, user)
    try:
        run(async_turns.receive_event(conversation, "text", {"text": "hi"}))
        done = {}
        worker = threading.Thread(target=lambda: done.update(
            outcomes=run(async_turns.process_pending(conversation.pk))))
        worker.start()
        deadline = time.monotonic() + 5
        while not scripted_llm_server.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        # While the model answers, the sender changes under the turn (another process): the
        # turn's write finds it and writes nothing; the turn runs again and calls the model again.
        EndUser.objects.filter(pk=user.pk).update(updated_at=timezone.now())
        worker.join(15)
    finally:
        close_pools()
    (outcome,) = done["outcomes"]
    assert [m.payload.get("text") for m in outcome.messages] == ["second run"]
    assert len(scripted_llm_server.requests) == 2
    assert sorted(LLMUsage.objects.filter(conversation=conversation).values_list("tokens_in", "tokens_out")) == [
        (7, 3), (8, 4)]
