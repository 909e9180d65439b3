"""A failed turn never leaves the visitor in silence, on either executor: a bot error gets
the engine's fallback message; a turn that fails outside the engine (a crash, the turn
budget, a bot that cannot be loaded) keeps only its failure and the fallback, stored as an
outgoing message of the event and delivered like any reply (docs/engine.md, "Errors")."""
import copy

import pytest
from django.db import connection

from flows import services
from runtime import async_turns, delivery, turns
from runtime.models import Event, Message
from runtime.tests.bots import create_bot, echo_bot
from runtime.tests.server_loop import close_pools, run

pytestmark = pytest.mark.django_db(transaction=True)
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the loop's executor is PostgreSQL's")

FALLBACK = "Sorry, something went wrong."


@pytest.fixture(autouse=True)
def _close_loop_pool():
    yield
    close_pools()


@pytest.fixture
def delivered():
    seen = []

    def record(conversation, messages):
        seen.extend((m.seq, m.direction, m.as_output().get("text")) for m in messages)

    delivery.subscribe(record)
    yield seen
    delivery.unsubscribe(record)


def failing_bot(name="Fails", *, settings=None, error_flow=None):
    flows = [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "work"},
        {"id": "work", "kind": "standard", "cards": [
            {"id": "boom", "type": "code", "code": "throw new Error('kaput')"}]},
    ]}]
    if error_flow is not None:
        flows.append({"name": "error", "nodes": [
            {"id": "entry", "kind": "entry", "next": "say"},
            {"id": "say", "kind": "standard", "cards": error_flow},
        ]})
    return {"format": "flowstudio.bot/1", "name": name, "settings": settings or {}, "flows": flows}


def crash_engine(monkeypatch, module):
    def crash(build, turn_input):
        raise RuntimeError("engine bug")

    monkeypatch.setattr(module, "run_turn", crash)


def send_on_threads(conversation, text):
    return turns.send_user_message(conversation, text)


def send_on_the_loop(conversation, text):
    event = run(async_turns.receive_event(conversation, "text", {"text": text}))
    return next(o for o in run(async_turns.process_pending(conversation.pk)) if o.event.pk == event.pk)


EXECUTORS = [pytest.param((turns, send_on_threads), id="orm"),
             pytest.param((async_turns, send_on_the_loop), id="loop", marks=on_postgresql)]


def outgoing(conversation):
    return [(m.seq, m.payload.get("text")) for m in
            Message.objects.filter(conversation=conversation, direction="outgoing").order_by("seq")]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_bot_error_without_an_error_flow_gets_the_fallback(executor):
    _, send = executor
    bot = create_bot(failing_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    outcome = send(conversation, "hi")
    assert not outcome.failed  # the engine handled it: the turn itself went through
    assert outcome.outputs == [{"type": "text", "text": FALLBACK}]
    assert outgoing(conversation) == [(2, FALLBACK)]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_an_error_flow_that_speaks_replaces_the_fallback(executor):
    _, send = executor
    bot = create_bot(failing_bot(error_flow=[{"id": "sorry", "type": "text", "text": "Our side broke, sorry."}]))
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    assert [o["text"] for o in send(conversation, "hi").outputs] == ["Our side broke, sorry."]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_turn_that_fails_outside_the_engine_stores_and_delivers_the_fallback(executor, monkeypatch, delivered):
    module, send = executor
    bot = create_bot(echo_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    crash_engine(monkeypatch, module)

    outcome = send(conversation, "hi")

    assert outcome.failed and outcome.error == "RuntimeError: engine bug"
    assert outcome.outputs == [{"type": "text", "text": FALLBACK}]
    assert outgoing(conversation) == [(2, FALLBACK)]
    fallback = Message.objects.get(conversation=conversation, direction="outgoing")
    assert fallback.event_id == outcome.event.pk  # the failed event's reply, as the transcript shows it
    assert delivered == [(1, "incoming", "hi"), (2, "outgoing", FALLBACK)]
    conversation.refresh_from_db()
    assert conversation.next_seq == 3 and conversation.state == {}

    monkeypatch.undo()  # the conversation goes on, its seqs after the fallback's
    assert send(conversation, "again").outputs == [{"type": "text", "text": "got again"}]
    assert outgoing(conversation) == [(2, FALLBACK), (4, "got again")]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_the_runtime_sends_the_bots_own_fallback_message_or_none(executor, monkeypatch):
    module, send = executor
    custom = copy.deepcopy(echo_bot("Custom"))
    custom["settings"]["fallbackMessage"] = "Hang on, we are fixing things."
    silent = copy.deepcopy(echo_bot("Silent"))
    silent["settings"]["fallbackMessage"] = ""
    crash_engine(monkeypatch, module)

    bot = create_bot(custom)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    assert send(conversation, "hi").outputs == [{"type": "text", "text": "Hang on, we are fixing things."}]

    bot = create_bot(silent)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    outcome = send(conversation, "hi")
    assert outcome.failed and outcome.outputs == [] and outgoing(conversation) == []


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_bot_that_cannot_be_loaded_still_answers_with_the_default_fallback(executor):
    _, send = executor
    bot = create_bot(echo_bot(), publish=False)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    outcome = send(conversation, "hi")
    assert outcome.failed and "no published version" in outcome.error
    assert outcome.outputs == [{"type": "text", "text": FALLBACK}]
    assert Event.objects.get(pk=outcome.event.pk).status == "failed"


@on_postgresql
def test_both_executors_store_the_same_rows_for_a_failed_turn(monkeypatch):
    def rows(conversation):
        return [(m.seq, m.direction, m.type, m.payload, m.metadata, m.event.seq, m.event.status, m.event.error)
                for m in Message.objects.filter(conversation=conversation).select_related("event").order_by("seq")]

    results = []
    for module, send in ((turns, send_on_threads), (async_turns, send_on_the_loop)):
        bot = create_bot(echo_bot(f"Echo {module.__name__}"))
        conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
        send(conversation, "one")
        crash_engine(monkeypatch, module)
        send(conversation, "two")
        monkeypatch.undo()
        send(conversation, "three")
        results.append(rows(conversation))
    assert results[0] == results[1]
    assert [r[3].get("text") for r in results[0]] == ["one", "got one", "two", FALLBACK, "three", "got three"]


def test_the_draft_emulator_conversation_gets_the_drafts_fallback(monkeypatch):
    bot = create_bot(echo_bot())
    draft = services.export_bot(bot)
    draft.setdefault("settings", {})["fallbackMessage"] = "Draft says sorry."
    services.replace_draft(bot, draft, base_revision=None)
    crash_engine(monkeypatch, turns)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot), draft=True)
    assert turns.send_user_message(conversation, "hi").outputs == [{"type": "text", "text": "Draft says sorry."}]
