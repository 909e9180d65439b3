"""The Capture Information card, driven through whole conversations with no database."""
import json

import pytest

from runtime.engine import BuildError, TurnInput, compile_bot, run_turn

from .chat import Chat, bot, card, main, node, text


def capture(**fields):
    fields.setdefault("id", "cap")
    return card("capture", **fields)


def one_capture_bot(cap, *, after="stored={{workflow.n}}", failed=None, variables=()):
    nodes = [node("ask", cap, text(after), next=None)]
    if failed:
        nodes.append(node("failed", text(failed)))
    return bot(main(*nodes, start_next="ask", variables=variables))


def outputs(chat):
    return chat.last.outputs


def traced(chat, kind):
    return [t for t in chat.last.trace if t["type"] == kind]


def test_prompts_then_captures_a_number():
    chat = Chat(one_capture_bot(capture(capture="number", variable="workflow.n", prompt="How many pizzas?")))
    assert chat.say("hi") == ["How many pizzas?"]
    assert chat.last.waiting
    assert chat.say("twelve please") == ["stored=12"]
    assert traced(chat, "captured")[0]["value"] == 12
    assert not chat.last.waiting


def test_failed_answers_use_retries_and_repeat_the_retry_message():
    chat = Chat(one_capture_bot(capture(capture="number", variable="workflow.n", prompt="How many?",
                                        retries=2, retryMessage="Please give me a number.")))
    chat.say("hi")
    assert chat.say("lots") == ["Please give me a number."]
    assert traced(chat, "capture_failed")[0]["reason"] == "no number found in the answer"
    assert chat.say("many") == ["Please give me a number."]
    assert chat.say("7") == ["stored=7"]


def test_retries_exhausted_take_the_failure_port():
    chat = Chat(one_capture_bot(
        capture(capture="number", variable="workflow.n", prompt="How many?", retries=1, onFailure="failed"),
        failed="gave up, n=[{{workflow.n}}]",
    ))
    chat.say("hi")
    assert chat.say("lots") == ["How many?"]  # no retry message: the prompt again
    assert chat.say("many") == ["gave up, n=[]"]
    assert "reached the limit of retries (1)" in traced(chat, "capture_failed")[0]["reason"]


def test_zero_retries_go_straight_to_the_failure_port():
    chat = Chat(one_capture_bot(
        capture(capture="number", variable="workflow.n", prompt="How many?", retries=0, onFailure="failed"),
        failed="failed",
    ))
    chat.say("hi")
    assert chat.say("no idea") == ["failed"]


def test_retries_exhausted_without_a_port_continue_with_the_variable_unset():
    chat = Chat(one_capture_bot(
        capture(capture="number", variable="workflow.n", prompt="How many?", retries=1),
        after="next card, n is {{typeof workflow.n}}",
    ))
    chat.say("hi")
    chat.say("lots")
    assert chat.say("many") == ["next card, n is undefined"]
    assert chat.state["frames"] == []


def test_validation_fails_then_passes():
    chat = Chat(one_capture_bot(capture(
        capture="number", variable="workflow.n", prompt="How old are you?",
        validation="value >= 18 && input.length < 20", validationMessage="You must be 18 or older.",
        retryMessage="That is not a number.",
    )))
    chat.say("hi")
    assert chat.say("12") == ["You must be 18 or older."]
    assert "validation" in traced(chat, "capture_failed")[0]["reason"]
    assert chat.say("no clue") == ["That is not a number."]
    assert chat.say("42") == ["stored=42"]


def test_validation_running_in_v8_sees_value_and_input():
    chat = Chat(one_capture_bot(capture(
        capture="email", variable="workflow.n", prompt="Email?",
        validation="input.trim().toLowerCase().endsWith('@example.com') && value.includes('@')",
        validationMessage="Only example.com addresses.",
    )))
    chat.say("hi")
    assert chat.say("bob@other.org") == ["Only example.com addresses."]
    assert chat.say("bob@example.com") == ["stored=bob@example.com"]


def _cancel_bot(**extra):
    return one_capture_bot(
        capture(capture="number", variable="workflow.n", prompt="How many?", onFailure="failed", **extra),
        failed="cancelled, n=[{{workflow.n}}]",
    )


def test_cancel_keyword_without_confirmation_takes_the_failure_port():
    chat = Chat(_cancel_bot(cancelKeywords=["forget it"]))
    chat.say("hi")
    assert chat.say("Forget it!") == ["cancelled, n=[]"]
    assert traced(chat, "capture_failed")[0]["reason"] == "cancelled by the user"


def test_cancel_with_confirmation_yes_takes_the_failure_port():
    chat = Chat(_cancel_bot(confirmCancel=True))
    chat.say("hi")
    chat.say("never mind")
    assert outputs(chat) == [{"type": "choice", "text": "Are you sure you want to cancel?",
                              "options": [{"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"}]}]
    assert chat.last.waiting
    assert chat.say("yes") == ["cancelled, n=[]"]


def test_cancel_with_confirmation_no_keeps_asking():
    chat = Chat(_cancel_bot(confirmCancel=True))
    chat.say("hi")
    chat.say("cancel")
    assert chat.say("no") == ["How many?"]
    assert chat.say("3") == ["stored=3"]


def test_cancellation_can_be_turned_off():
    chat = Chat(one_capture_bot(capture(capture="raw", variable="workflow.n", prompt="Say anything",
                                        cancellation=False)))
    chat.say("hi")
    assert chat.say("stop") == ["stored=stop"]


def test_skip_if_filled_sends_no_prompt():
    chat = Chat(bot(main(
        node("ask", card("code", code="workflow.n = 5"),
             capture(capture="number", variable="workflow.n", prompt="How many?", skipIfFilled=True),
             text("n={{n}}")),
        start_next="ask",
    )))
    assert chat.say("hi") == ["n=5"]
    assert traced(chat, "capture_skipped")


def _chaining_bot(first=()):
    return bot(main(
        node("ask", *first,
             capture(id="c_name", capture="person", variable="workflow.name", prompt="Your name?", extractFromHistory=2),
             capture(id="c_mail", capture="email", variable="workflow.email", prompt="Your email?", extractFromHistory=2),
             capture(id="c_tel", capture="phone", variable="workflow.phone", prompt="Your phone?", extractFromHistory=2),
             text("{{name.first}} {{name.last}} / {{email}} / {{phone}}")),
        start_next="ask",
    ))


def test_extract_from_history_fills_every_card_of_a_prompt_chain():
    build = compile_bot(_chaining_bot())
    earlier = "I'm Ada Lovelace, ada@example.com, +1 514 555 0123"
    result = run_turn(build, TurnInput(
        state={}, event={"type": "text", "payload": {"text": "hello there"}, "preview": "hello there"},
        history=["what's up", earlier],
    ))
    assert [o["text"] for o in result.outputs] == ["Ada Lovelace / ada@example.com / +15145550123"]
    assert [t["source"] for t in result.trace if t["type"] == "captured"] == ["history"] * 3


def test_prompt_chain_asks_only_for_what_is_missing():
    chat = Chat(_chaining_bot())
    # The message that starts the dialog counts as the first one back: it holds a name and an email.
    assert chat.say("Ada Lovelace, ada@example.com") == ["Your phone?"]
    assert chat.say("514 555 0123") == ["Ada Lovelace / ada@example.com / +15145550123"]


def test_prompt_chain_reads_the_answer_to_an_earlier_card():
    chat = Chat(_chaining_bot(first=[text("Tell me about you"), card("wait", id="w")]))
    assert chat.say("hi") == ["Tell me about you"]
    assert chat.say("I'm Ada Lovelace, ada@example.com, +1 514 555 0123") == [
        "Ada Lovelace / ada@example.com / +15145550123"]


def test_history_is_not_read_when_the_card_does_not_ask_for_it():
    build = compile_bot(one_capture_bot(capture(capture="number", variable="workflow.n", prompt="How many?")))
    result = run_turn(build, TurnInput(state={}, event={"type": "text", "payload": {"text": "3"}}, history=["4"]))
    assert [o["text"] for o in result.outputs] == ["How many?"]


SIZES = [{"label": "Small", "value": "s"}, {"label": "Medium", "value": "m"}, {"label": "Large", "value": "l"}]


def test_up_to_five_choices_render_as_buttons_and_a_click_matches():
    chat = Chat(one_capture_bot(capture(capture="single_choice", variable="workflow.n", prompt="Size?",
                                        choices=SIZES)))
    chat.say("hi")
    assert outputs(chat) == [{"type": "choice", "text": "Size?", "options": SIZES}]
    chat.send({"type": "text", "payload": {"text": "m"}, "preview": "Medium"})
    assert outputs(chat)[0]["text"] == "stored=m"


def test_a_typed_label_matches_and_retry_resends_the_choices():
    chat = Chat(one_capture_bot(capture(capture="single_choice", variable="workflow.n", prompt="Size?",
                                        choices=SIZES, retryMessage="Pick a size.")))
    chat.say("hi")
    chat.say("purple")
    assert outputs(chat) == [{"type": "choice", "text": "Pick a size.", "options": SIZES}]
    assert chat.say("LARGE") == ["stored=l"]


def test_more_than_five_choices_render_as_a_dropdown_from_a_variable():
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    chat = Chat(bot(main(
        node("ask", card("code", code=f"workflow.days = {json.dumps(days)}"),
             capture(capture="single_choice", variable="workflow.day", prompt="Which day?", choicesFrom="workflow.days"),
             text("day={{day}}")),
        start_next="ask",
    )))
    chat.say("hi")
    assert outputs(chat) == [{"type": "dropdown", "text": "Which day?",
                              "options": [{"label": d, "value": d} for d in days]}]
    assert chat.say("sat") == ["day=Sat"]


def test_boolean_capture_offers_yes_and_no():
    chat = Chat(one_capture_bot(capture(capture="boolean", variable="workflow.n", prompt="Gift wrap?"),
                                after="wrap={{n}} {{typeof n}}"))
    chat.say("hi")
    assert outputs(chat)[0]["options"] == [{"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"}]
    assert chat.say("nope") == ["wrap=false boolean"]


def test_sensitive_regex_value_is_stored_but_never_traced():
    chat = Chat(one_capture_bot(capture(
        capture="entity_regex", variable="workflow.n", prompt="Card number?",
        options={"pattern": r"\d{4}-\d{4}-\d{4}-\d{4}"}, sensitive=True,
    ), after="last four: {{n.slice(-4)}}"))
    chat.say("hi")
    assert chat.say("it is 4111-1111-1111-1234") == ["last four: 1234"]
    dumped = json.dumps(chat.last.trace) + json.dumps(chat.last.logs)
    assert "4111" not in dumped
    assert traced(chat, "captured")[0]["value"] == "*" * 19


def test_capture_into_a_declared_number_variable_keeps_the_type():
    chat = Chat(one_capture_bot(
        capture(capture="number", variable="workflow.n", prompt="How many?"),
        after="{{n + 1}} {{typeof n}}",
        variables=[{"name": "n", "type": "number"}],
    ))
    chat.say("hi")
    assert chat.say("41") == ["42 number"]


def test_capture_into_a_variable_of_the_wrong_type_is_an_error():
    chat = Chat(one_capture_bot(
        capture(capture="number", variable="workflow.n", prompt="How many?"),
        variables=[{"name": "n", "type": "string"}],
    ))
    chat.say("hi")
    chat.say("41")
    assert chat.last.error["message"] == "workflow.n: expected string, got number"
    assert chat.last.error["card"] == "cap"


def test_retry_count_survives_suspension_in_plain_json_state_and_is_dropped_after():
    chat = Chat(one_capture_bot(capture(capture="number", variable="workflow.n", prompt="How many?", retries=3)))
    chat.say("hi")
    chat.say("lots")
    assert json.loads(json.dumps(chat.state)) == chat.state
    assert chat.state["frames"][-1]["mem"] == {"failures": 1}
    chat.say("2")
    assert chat.state["frames"] == []


def test_datetime_is_read_in_the_bot_time_zone_relative_to_the_event():
    chat = Chat(bot(main(
        node("ask", capture(capture="datetime", variable="workflow.when", prompt="When?"), text("{{when}}")),
        start_next="ask",
    ), settings={"timezone": "America/New_York"}))
    chat.say("hi")
    chat.send({"type": "text", "payload": {"text": "tomorrow at 3pm"}, "createdOn": "2025-03-12T14:30:00Z"})
    assert outputs(chat)[0]["text"] == "2025-03-13T15:00:00-04:00"


@pytest.mark.parametrize("fields, problem", [
    ({"capture": "number", "variable": "n", "prompt": "x"}, ".variable"),
    ({"capture": "shoe_size", "variable": "workflow.n", "prompt": "x"}, ".capture"),
    ({"capture": "single_choice", "variable": "workflow.n", "prompt": "x"}, "needs choices"),
    ({"capture": "number", "variable": "workflow.n", "prompt": "x", "choices": ["a"]}, "only available"),
    ({"capture": "number", "variable": "workflow.n", "prompt": "x", "retries": 11}, ".retries"),
    ({"capture": "number", "variable": "workflow.n", "prompt": "x", "sensitive": True}, "entity_regex"),
    ({"capture": "number", "variable": "workflow.n", "prompt": "x", "onFailure": "nowhere"}, "missing node"),
])
def test_bad_card_fields_are_named(fields, problem):
    with pytest.raises(BuildError) as err:
        compile_bot(one_capture_bot(capture(**fields)))
    assert problem in str(err.value)


def test_a_sensitive_answer_comes_back_starred_for_the_transcript():
    chat = Chat(one_capture_bot(capture(
        capture="entity_regex", variable="workflow.n", prompt="Card number?",
        options={"pattern": r"\d{4}-\d{4}-\d{4}-\d{4}"}, sensitive=True,
    ), after="ok"))
    chat.say("hi")
    assert chat.last.masked_text is None  # nothing sensitive in the message that started the dialog
    chat.say("it is 4111-1111-1111-1234, thanks")
    assert chat.last.masked_text == "it is *******************, thanks"
