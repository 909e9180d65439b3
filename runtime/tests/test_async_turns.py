"""The turn service's two executors store the same thing: the ORM one (`runtime.turns`, on a
thread, any database) and the loop's PostgreSQL one (`runtime.async_turns`). The same bot
gets the same messages through each; the stored conversations must match row for row."""
import pytest
from django.db import connection

from runtime import async_turns, turns
from runtime.models import BotVariable, Event, Message
from runtime.tests.bots import capture_bot, create_bot, echo_bot, rich_bot, two_step_bot, variables_bot
from runtime.tests.server_loop import close_pools, run
from runtime.tests.test_sensitive_transcript import card_bot

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="the loop's executor is PostgreSQL's")]


@pytest.fixture(autouse=True)
def _close_loop_pool():
    yield
    close_pools()


def through_threads(bot, texts):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "someone"))
    outputs = [turns.send_user_message(conversation, text).outputs for text in texts]
    return conversation, outputs


def through_the_loop(bot, texts):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "someone"))
    outputs = []
    for text in texts:
        event = run(async_turns.receive_event(conversation, "text", {"text": text}))
        outcome = next(o for o in run(async_turns.process_pending(conversation.pk)) if o.event.pk == event.pk)
        outputs.append(outcome.outputs)
    return conversation, outputs


def untimed(entries):
    """Trace and log entries without their timings (`t`, `ms`), which differ run to run."""
    return [{k: v for k, v in entry.items() if k not in ("t", "ms")} for entry in entries]


def stored(conversation):
    conversation.refresh_from_db()
    conversation.user.refresh_from_db()
    return {
        "state": conversation.state,
        "pinned": conversation.version_id is not None,
        "timeout pending": conversation.timeout_at is not None,
        "next seq": conversation.next_seq,
        "user variables": conversation.user.variables,
        "bot variables": dict(BotVariable.objects.filter(bot_id=conversation.bot_id).values_list("name", "value")),
        "events": [(*row[:5], untimed(row[5]), untimed(row[6]), row[7]) for row in
                   Event.objects.filter(conversation=conversation).order_by("seq").values_list(
                       "seq", "type", "status", "payload", "metadata", "trace", "logs", "error")],
        "messages": list(Message.objects.filter(conversation=conversation).order_by("seq").values_list(
            "seq", "direction", "type", "payload", "metadata", "tags", "event__seq", "user_id")),
    }


def sensitive_bot(name):
    return {**card_bot(), "name": name}


@pytest.mark.parametrize("definition, texts", [
    (variables_bot, ["one", "two", "three"]),
    (sensitive_bot, ["hi", "it is 4111-1111-1111-1234, thanks"]),
    (capture_bot, ["hi", "Ada", "yes", "42", "no"]),
    (two_step_bot, ["hi", "there", "again"]),
    (rich_bot, ["Ada"]),
    (echo_bot, ["hello", "world"]),
], ids=["variables", "sensitive", "captures", "dialog-ends", "rich", "echo-with-timeout"])
def test_both_executors_store_the_same_conversation(definition, texts):
    threads_bot = create_bot(definition(name="threads"))
    loop_bot = create_bot(definition(name="loop"))

    by_threads, threads_outputs = through_threads(threads_bot, texts)
    by_loop, loop_outputs = through_the_loop(loop_bot, texts)

    assert loop_outputs == threads_outputs
    expected, got = stored(by_threads), stored(by_loop)
    # The sender column holds each bot's own user row; what matters is that both set it.
    for rows in (expected["messages"], got["messages"]):
        rows[:] = [(*row[:-1], row[-1] is not None) for row in rows]
    assert got == expected


def engine_breaking_on(monkeypatch, text: str, message: str) -> None:
    """A fault in the engine for one message."""
    real_run_turn = async_turns.run_turn

    def run_turn(build, turn_input):
        if turn_input.event["payload"].get("text") == text:
            raise RuntimeError(message)
        return real_run_turn(build, turn_input)

    monkeypatch.setattr(async_turns, "run_turn", run_turn)


def test_a_failing_turn_is_stored_as_failed_and_the_next_one_runs(monkeypatch):
    engine_breaking_on(monkeypatch, "boom", "the engine broke")
    bot = create_bot(variables_bot(name="fails"))
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "someone"))
    broken = run(async_turns.receive_event(conversation, "text", {"text": "boom"}))
    fine = run(async_turns.receive_event(conversation, "text", {"text": "fine"}))

    outcomes = run(async_turns.process_pending(conversation.pk))

    assert [(o.event.pk, o.event.status) for o in outcomes] == [(broken.pk, "failed"), (fine.pk, "processed")]
    assert outcomes[1].outputs == [{"type": "text", "text": "visits=1 hits=1"}]
    stored_failure = Event.objects.get(pk=broken.pk)
    assert (stored_failure.status, stored_failure.error) == ("failed", "RuntimeError: the engine broke")
    # Nothing of the failed turn was written but the fallback: the counts start from the good message.
    assert [m.payload for m in Message.objects.filter(event_id=broken.pk, direction="outgoing")] == [
        {"text": "Sorry, something went wrong."}]


def test_the_loop_folds_a_failed_turn_into_issues_and_writes_bot_ids_and_facts(monkeypatch):
    """What the ORM executor does after a turn (runtime.turns.after_turn_with_lines), the
    loop's does too: the failed turn is an issue at once; every row carries its bot."""
    from runtime.models import Issue

    engine_breaking_on(monkeypatch, "boom", "the engine broke 42")
    bot = create_bot(capture_bot(name="loop issues"))
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "someone"))
    run(async_turns.receive_event(conversation, "text", {"text": "boom"}))
    run(async_turns.receive_event(conversation, "text", {"text": "age"}))
    run(async_turns.process_pending(conversation.pk))

    issue = Issue.objects.get(bot=bot)
    assert (issue.kind, issue.pattern, issue.count) == ("RuntimeError", "the engine broke <n>", 1)
    assert set(Event.objects.filter(conversation=conversation).values_list("bot_id", flat=True)) == {bot.pk}
    assert set(Message.objects.filter(conversation=conversation).values_list("bot_id", flat=True)) == {bot.pk}
    asked = Event.objects.get(conversation=conversation, payload__text="age")
    assert asked.facts == {"captures": [["cap-age", "started"]]}
