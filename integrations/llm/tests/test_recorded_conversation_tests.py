"""Conversation tests of bots with AI cards, offline: recorded once against a provider (the
scripted server over real HTTP), then replayed with the server stopped; a changed prompt
fails with its diff; the recording survives export and import."""
import copy
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from flows import services as flow_services
from integrations.llm import scripted_server as s
from integrations.llm.services import save_provider
from runtime import conversation_tests, llm_gateway, turns
from runtime.engine.llm_replay import ReplayLLM, exchanges_from_trace
from runtime.models import EndUser, Event
from runtime.tests.bots import create_bot

pytestmark = pytest.mark.django_db(transaction=True)

MODELS = [{"id": "scripted-fast", "label": "Fast"}, {"id": "scripted-best", "label": "Best"}]


def support_bot(instructions="You are terse.\nAnswer in one sentence.", tests=()):
    return {
        "format": "flowstudio.bot/1", "name": "Support", "settings": {},
        "variables": [{"scope": "user", "name": "topic", "type": "string", "default": ""}],
        "flows": [
            {"name": "main", "nodes": [
                {"id": "start", "kind": "start", "next": "talk"},
                {"id": "talk", "kind": "standard", "cards": [
                    {"id": "classify", "type": "ai_task", "instructions": "Find the topic.",
                     "outputs": [{"variable": "user.topic", "description": "what the user asks about"}]},
                    {"id": "answer", "type": "ai_generate_text", "instructions": instructions,
                     "prompt": "Topic {{user.topic}}: {{event.preview}}"},
                    {"id": "again", "type": "wait"}], "next": "talk"},
            ]},
        ],
        "tests": list(tests),
    }


GREETS = {"name": "greets", "steps": [
    {"user": "my parcel is late"}, {"bot": "Sorry! It ships tomorrow."},
    {"variable": "user.topic", "equals": "delivery"},
]}


def add_provider(server):
    save_provider(flow_services.default_workspace(), {
        "name": "acme", "base_url": server.url, "api_key": "k", "models": MODELS,
        "default_model": "Fast", "max_retries": 0, "timeout_seconds": 5})


def bot_test(*args):
    out = StringIO()
    try:
        call_command("bot", "test", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.fixture
def recorded(scripted_llm_server):
    """A bot whose test `greets` was recorded with `bot test --record`; the server stopped."""
    add_provider(scripted_llm_server)
    scripted_llm_server.script([s.text('{"topic": "delivery"}'), s.text("Sorry! It ships tomorrow.")])
    bot = create_bot(support_bot(tests=[GREETS]))
    output, error = bot_test(bot.name, "--record")
    assert error is None, output
    assert "PASS  greets  (version 1, 2 LLM calls recorded)" in output
    assert "recorded the LLM calls of 1 test(s) into the draft: greets" in output
    assert len(scripted_llm_server.requests) == 2
    scripted_llm_server.stop()
    bot.refresh_from_db()
    return bot, scripted_llm_server


def test_recording_writes_each_call_after_the_input_that_made_it(recorded):
    bot, _ = recorded
    [test] = flow_services.export_bot(bot)["tests"]  # the canonical form: its key order too
    kinds = [next(iter(step)) for step in test["steps"]]
    assert kinds == ["user", "llm", "llm", "bot", "variable"]
    classify, answer = test["steps"][1]["llm"], test["steps"][2]["llm"]
    assert classify["card"] == "classify" and "responseSchema" in classify["request"]
    assert classify["answer"]["text"] == '{"topic": "delivery"}'
    assert json.dumps(answer) == json.dumps({
        "card": "answer",
        "request": {"model": "", "messages": [
            {"role": "system", "content": ["You are terse.", "Answer in one sentence."]},
            {"role": "user", "content": "Topic delivery: my parcel is late"}]},
        "answer": {"text": "Sorry! It ships tomorrow.", "model": "scripted-fast", "provider": "acme",
                   "tokensIn": answer["answer"]["tokensIn"], "tokensOut": answer["answer"]["tokensOut"]},
    })


def test_replay_passes_offline_and_sends_nothing(recorded):
    bot, server = recorded
    [result] = conversation_tests.run_tests(bot)
    assert result.passed, conversation_tests.format_results([result])
    assert (result.mode, result.llm_calls) == ("replay", 2)
    assert len(server.requests) == 2  # only the recording's
    output, error = bot_test(bot.name)
    assert error is None and "PASS  greets  (version 1, 2 LLM calls replayed)" in output


def test_a_replayed_turn_is_the_live_turn_byte_for_byte(scripted_llm_server):
    """Same replies, same state, same variables as the conversation that talked to the model."""
    add_provider(scripted_llm_server)
    scripted_llm_server.script([s.text('{"topic": "delivery"}'), s.text("Sorry! It ships tomorrow.")])
    bot = create_bot(support_bot())

    def turn(llm=None):
        conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
        if llm is None:
            outcome = turns.send_user_message(conversation, "my parcel is late")
        else:
            with llm_gateway.answering_with(llm):
                outcome = turns.send_user_message(conversation, "my parcel is late")
        conversation.refresh_from_db()
        return outcome, json.dumps({"outputs": outcome.outputs, "state": conversation.state,
                                    "user": EndUser.objects.get(pk=conversation.user_id).variables}, sort_keys=True)

    live, live_turn = turn()
    scripted_llm_server.stop()
    replay = ReplayLLM(exchanges_from_trace(Event.objects.get(pk=live.event.pk).trace))
    _, replayed_turn = turn(replay)

    assert replayed_turn == live_turn
    assert '"Sorry! It ships tomorrow."' in live_turn and '"topic": "delivery"' in live_turn
    assert (replay.calls, replay.problems) == (2, [])
    assert len(scripted_llm_server.requests) == 2


def test_a_changed_prompt_fails_with_the_diff_of_the_prompt(recorded):
    bot, server = recorded
    document = flow_services.draft_document(bot)
    document["flows"][0]["nodes"][1]["cards"][1]["instructions"] = "You are chatty.\nAnswer in one sentence."
    flow_services.replace_draft(bot, document, base_revision=None)

    [result] = conversation_tests.run_tests(bot, draft=True)

    assert not result.passed
    [failure] = result.failures
    assert (failure.index, failure.kind) == (2, "llm")
    assert failure.message == ("LLM call 2 (card 'answer') of step 1 sent a different request than the "
                               "recorded one; record the test again if the change is intended")
    assert failure.detail.splitlines() == [
        "--- recorded", "+++ sent", "@@ -1,5 +1,5 @@", " [system]", "-You are terse.", "+You are chatty.",
        " Answer in one sentence.", " [user]", " Topic delivery: my parcel is late"]
    report = conversation_tests.format_results([result])
    assert "step 3: LLM call 2 (card 'answer') of step 1 sent a different request" in report
    assert "          -You are terse.\n          +You are chatty." in report
    assert len(server.requests) == 2  # never a live call instead


def test_a_call_beyond_the_recording_fails_naming_it(recorded):
    bot, server = recorded
    document = flow_services.draft_document(bot)
    test = document["tests"][0]
    test["steps"] += [{"user": "and my refund?"}, {"bot": "whatever"}]
    flow_services.replace_draft(bot, document, base_revision=None)

    [result] = conversation_tests.run_tests(bot)

    [failure] = result.failures
    assert (failure.index, failure.kind) == (5, "llm")
    assert failure.message == ("LLM call 1 (card 'classify') is beyond the recording: step 6 recorded 0 calls; "
                               "record the test again (bot test --record, or Save as test)")
    assert len(server.requests) == 2


def test_the_recording_round_trips_through_export_and_import(recorded, tmp_path):
    bot, server = recorded
    exported = flow_services.export_bot(bot)
    path = tmp_path / "support.bot.json"
    path.write_text(json.dumps(exported, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    # One line of the prompt is one line of the file.
    assert '          "You are terse.",\n' in text

    copy_bot = flow_services.import_bot(json.loads(text), workspace=flow_services.default_workspace())
    assert flow_services.export_bot(copy_bot)["tests"] == exported["tests"] == bot.draft["tests"]
    [result] = conversation_tests.run_tests(copy_bot)
    assert result.passed and result.mode == "replay", conversation_tests.format_results([result])
    assert len(server.requests) == 2


def test_a_failing_run_does_not_overwrite_the_recording(scripted_llm_server):
    add_provider(scripted_llm_server)
    scripted_llm_server.script([s.text('{"topic": "delivery"}'), s.text("No idea.")])
    bot = create_bot(support_bot(tests=[GREETS]))
    output, error = bot_test(bot.name, "--record")
    assert error is not None and "FAIL  greets" in output
    assert "recorded the LLM calls of 0 test(s) into the draft (failing tests keep their old recording)" in output
    bot.refresh_from_db()
    assert bot.draft["tests"] == [GREETS]


def test_a_recording_is_not_written_over_a_draft_that_moved_during_the_run(scripted_llm_server):
    add_provider(scripted_llm_server)
    scripted_llm_server.script([s.text('{"topic": "delivery"}'), s.text("Sorry! It ships tomorrow.")])
    bot = create_bot(support_bot(tests=[GREETS]))
    revision = bot.draft_revision
    results = conversation_tests.run_tests(bot, record=True)
    assert results[0].passed
    edited = flow_services.draft_document(bot)
    edited["description"] = "edited meanwhile"
    flow_services.replace_draft(bot, edited, base_revision=None)

    with pytest.raises(flow_services.StaleRevision):
        conversation_tests.save_recordings(bot, results, base_revision=revision)
    bot.refresh_from_db()
    assert bot.draft["tests"] == [GREETS]
