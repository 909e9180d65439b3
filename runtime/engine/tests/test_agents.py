"""The Summary, Policy and Translator agents (bot file `agents`) against a scripted model."""
import json

import pytest

from runtime.engine import BuildError, compile_bot
from runtime.engine.llm import LLMError, ScriptedLLM

from .chat import Chat, bot, card, flow, main, node, text


def looping_bot(*cards, agents=None, **extra):
    """A bot that answers every message with `cards`, then waits for the next one."""
    doc = bot(main(node("n", *cards, card("wait"), next="n"), start_next="n"), **extra)
    if agents is not None:
        doc["agents"] = agents
    return doc


def purposes(llm):
    return [r.purpose for r in llm.requests]


def memory(c):
    return c.state["conversation"]["SummaryAgent"]


# ---- off by default --------------------------------------------------------------------------

def test_agents_are_off_by_default():
    llm = ScriptedLLM(["Bonjour !"])
    c = Chat(looping_bot(card("ai_generate_text", prompt="{{event.preview}}")), llm=llm)
    assert c.say("Bonjour, je voudrais un thé s'il vous plaît")[0] == "Bonjour !"
    assert purposes(llm) == ["ai_generate_text"]
    assert "SummaryAgent" not in c.state.get("conversation", {}) and "TranslatorAgent" not in c.user
    assert c.streamed  # nothing holds the answer back


def test_an_agent_that_is_configured_but_not_enabled_does_nothing():
    llm = ScriptedLLM(["fine"])
    c = Chat(looping_bot(card("ai_generate_text", prompt="p"),
                         agents={"summary": {"turns": 1}, "policy": {"blockedKeywords": ["fine"]}}), llm=llm)
    assert c.say("hi")[0] == "fine"
    assert "SummaryAgent" not in c.state.get("conversation", {})


# ---- Summary Agent ---------------------------------------------------------------------------

def test_summary_keeps_the_last_turns_word_for_word():
    c = Chat(looping_bot(text("You said {{event.preview}}"), agents={"summary": {"enabled": True}}),
             llm=ScriptedLLM())
    c.say("one")
    c.say("two")
    assert memory(c) == {"summary": "", "transcript": [
        {"role": "user", "content": "one"}, {"role": "assistant", "content": "You said one"},
        {"role": "user", "content": "two"}, {"role": "assistant", "content": "You said two"}]}


def test_summary_folds_turns_that_leave_the_window_with_one_call():
    llm = ScriptedLLM(["Ada wants tea."])
    c = Chat(looping_bot(text("ok {{event.preview}}"),
                         agents={"summary": {"enabled": True, "turns": 2, "model": "Fast", "maxTokens": 80}}),
             llm=llm)
    c.say("I am Ada")
    c.say("I want tea")
    assert llm.requests == []  # two turns fit the window: no call
    c.say("green, please")
    [request] = llm.requests
    assert request.purpose == "agent:summary" and request.model == "Fast" and request.max_tokens == 80
    assert "User: I am Ada\nBot: ok I am Ada" in request.messages[-1]["content"]
    assert memory(c)["summary"] == "Ada wants tea."
    assert [m["content"] for m in memory(c)["transcript"]] == ["I want tea", "ok I want tea",
                                                               "green, please", "ok green, please"]
    assert c.last.llm_calls[0]["purpose"] == "agent:summary"


def test_the_summary_reaches_ai_cards_that_use_memory():
    llm = ScriptedLLM(["first answer", "second answer", "Ada asked twice.", "third answer"])
    c = Chat(looping_bot(card("ai_generate_text", prompt="{{event.preview}}", useMemory=True),
                         agents={"summary": {"enabled": True, "turns": 1}}), llm=llm)
    c.say("q1")
    c.say("q2")  # q1 leaves the window
    c.say("q3")
    assert llm.requests[3].messages == (
        {"role": "system", "content": "Summary of the conversation so far: Ada asked twice."},
        {"role": "user", "content": "q2"}, {"role": "assistant", "content": "second answer"},
        {"role": "user", "content": "q3"})


def test_a_failed_summary_call_keeps_the_turn_and_the_old_summary():
    llm = ScriptedLLM(["Started.", LLMError("overloaded", provider="openai", status=503), "All three."])
    c = Chat(looping_bot(text("ok"), agents={"summary": {"enabled": True, "turns": 1}}), llm=llm)
    c.say("a")
    c.say("b")
    assert memory(c)["summary"] == "Started."
    assert c.say("c") == ["ok"]  # the turn is unharmed
    assert c.last.error is None and memory(c)["summary"] == "Started."
    assert any("Summary Agent" in log["message"] and "503" in log["message"] for log in c.last.logs)
    # the turn that could not be folded waits in the transcript, and the next fold takes it
    assert [m["content"] for m in memory(c)["transcript"]] == ["b", "ok", "c", "ok"]
    c.say("d")
    assert "User: b" in llm.requests[-1].messages[-1]["content"]
    assert "User: c" in llm.requests[-1].messages[-1]["content"]
    assert memory(c)["summary"] == "All three."
    assert [m["content"] for m in memory(c)["transcript"]] == ["d", "ok"]


def test_summary_without_a_provider_still_keeps_the_transcript():
    c = Chat(looping_bot(text("ok"), agents={"summary": {"enabled": True, "turns": 1}}))
    c.say("a")
    assert c.say("b") == ["ok"]
    assert memory(c) == {"summary": "", "transcript": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "ok"},
                                                       {"role": "user", "content": "b"}, {"role": "assistant", "content": "ok"}]}


def test_summary_ends_with_the_dialog():
    doc = bot(main(node("n", text("bye"), next="end"), node("end", kind="end"), start_next="n"),
              agents={"summary": {"enabled": True}})
    c = Chat(doc, llm=ScriptedLLM())
    c.say("hello")
    assert "SummaryAgent" not in c.state.get("conversation", {})


def test_summary_leaves_out_events_that_are_not_messages():
    c = Chat(looping_bot(text("ok"), agents={"summary": {"enabled": True}}), llm=ScriptedLLM())
    c.say("a")
    c.timeout()
    c.send({"type": "event", "payload": {"type": "ping"}})
    assert [m["content"] for m in memory(c)["transcript"]] == ["a", "ok"]


def test_summary_stores_the_masked_message():
    doc = looping_bot(text("noted"), agents={"summary": {"enabled": True}},
                      entities=[{"name": "code", "type": "pattern", "pattern": "[0-9]{4}", "sensitive": True}])
    c = Chat(doc, llm=ScriptedLLM())
    c.say("my pin is 1234")
    assert memory(c)["transcript"][0] == {"role": "user", "content": "my pin is ****"}


# ---- Policy Agent ----------------------------------------------------------------------------

def policy_chat(script, **policy):
    llm = ScriptedLLM(list(script))
    doc = looping_bot(card("ai_generate_text", id="gen", prompt="{{event.preview}}", variable="workflow.answer"),
                      text("[{{workflow.answer}}]"),
                      agents={"policy": {"enabled": True, **policy}})
    doc["flows"][0]["variables"] = [{"name": "answer", "type": "string"}]
    return Chat(doc, llm=llm), llm


def blocked(c):
    return [t for t in c.last.trace if t["type"] == "policy_blocked"]


def test_policy_keyword_replaces_the_answer_everywhere_it_goes():
    c, _ = policy_chat(["Our Competitor sells it cheaper."], blockedKeywords=["competitor"])
    assert c.say("price?") == ["Sorry, I can't help with that.", "[Sorry, I can't help with that.]"]
    [entry] = blocked(c)
    assert entry["ruleKind"] == "keyword" and entry["rule"] == "competitor" and entry["requestCard"] == "gen"
    assert c.streamed == []  # a gated answer is never streamed


def test_policy_keywords_match_whole_words_only():
    c, _ = policy_chat(["This class is full."], blockedKeywords=["ass"])
    assert c.say("x")[0] == "This class is full."
    assert blocked(c) == []


def test_policy_pattern_with_its_own_message():
    c, _ = policy_chat(["Call 555-123-4567 now", "Call us on the website"],
                       blockedPatterns=[r"\d{3}-\d{3}-\d{4}"], message="I can't share phone numbers.")
    assert c.say("phone?")[0] == "I can't share phone numbers."
    assert blocked(c)[0]["ruleKind"] == "pattern" and blocked(c)[0]["rule"] == r"\d{3}-\d{3}-\d{4}"
    assert c.say("again")[0] == "Call us on the website"


def test_policy_in_plain_words_is_checked_with_one_more_call():
    c, llm = policy_chat(["Take two aspirin.", json.dumps({"violated": 2, "reason": "medical advice"}),
                          "Our shop opens at 9.", json.dumps({"violated": 0, "reason": "fine"})],
                         policies=["Be polite", "Never give medical advice"], model="Fast")
    assert c.say("headache")[0] == "Sorry, I can't help with that."
    check = llm.requests[1]
    assert check.purpose == "agent:policy" and check.model == "Fast" and check.response_schema is not None
    assert "2. Never give medical advice" in check.messages[0]["content"]
    assert "Take two aspirin." in check.messages[1]["content"] and "headache" in check.messages[1]["content"]
    [entry] = blocked(c)
    assert entry["ruleKind"] == "policy" and entry["rule"] == "Never give medical advice"
    assert entry["reason"] == "medical advice"
    assert c.say("hours?")[0] == "Our shop opens at 9."


def test_keywords_are_checked_before_asking_the_model():
    c, llm = policy_chat(["a competitor answer"], blockedKeywords=["competitor"], policies=["Be polite"])
    assert c.say("x")[0] == "Sorry, I can't help with that."
    assert purposes(llm) == ["ai_generate_text"]


def test_a_policy_check_that_fails_fails_the_answer_through_the_cards_failure_port():
    llm = ScriptedLLM(["some answer", "not a verdict"])
    doc = looping_bot(card("ai_generate_text", prompt="p", onFailure="sorry"),
                      agents={"policy": {"enabled": True, "policies": ["Be polite"]}})
    doc["flows"][0]["nodes"].append(node("sorry", text("The assistant is unavailable.")))
    c = Chat(doc, llm=llm)
    assert c.say("x") == ["The assistant is unavailable."]
    failed = [t for t in c.last.trace if t["type"] == "llm_failed"][0]
    assert "Policy Agent" in failed["message"]


def test_policy_leaves_structured_answers_alone():
    llm = ScriptedLLM([json.dumps({"choice": 1, "reason": "competitor mentioned"})])
    doc = bot(main(node("n", card("ai_transition", condition="asks about a competitor", next="yes")),
                   node("yes", text("routed")), start_next="n"),
              agents={"policy": {"enabled": True, "blockedKeywords": ["competitor"]}})
    c = Chat(doc, llm=llm)
    assert c.say("what about your competitor?") == ["routed"]


@pytest.mark.parametrize("pattern, words", [("([a-z]+", "missing )"), ("x*", "empty text")])
def test_a_bad_blocked_pattern_is_a_build_error_naming_it(pattern, words):
    doc = looping_bot(text("hi"), agents={"policy": {"enabled": True, "blockedPatterns": ["ok", pattern]}})
    with pytest.raises(BuildError) as info:
        compile_bot(doc)
    [problem] = info.value.problems
    assert problem.path == "$.agents.policy.blockedPatterns[1]"
    assert repr(pattern) in problem.message and words in problem.message


def test_a_bad_pattern_is_reported_even_while_the_policy_agent_is_off():
    with pytest.raises(BuildError) as info:
        compile_bot(looping_bot(text("hi"), agents={"policy": {"blockedPatterns": ["("]}}))
    assert info.value.problems[0].path == "$.agents.policy.blockedPatterns[0]"


def test_unknown_agent_settings_are_build_errors_with_their_path():
    with pytest.raises(BuildError) as info:
        compile_bot(looping_bot(text("hi"), agents={"summary": {"enabled": True, "turns": -1, "colour": "red"},
                                                    "vision": {}}))
    problems = {p.path: p.message for p in info.value.problems}
    assert "greater than or equal to 0" in problems["$.agents.summary.turns"]
    assert problems["$.agents.summary.colour"] == "is not a setting of this agent"
    assert "not an agent" in problems["$.agents.vision"]


# ---- Translator Agent ------------------------------------------------------------------------

def translator_bot(*cards, **translator):
    return looping_bot(*cards, agents={"translator": {"enabled": True, **translator}},
                       settings={"languages": ["en", "fr"], "defaultLanguage": "en"})


def test_translator_translates_the_message_in_and_the_replies_out():
    llm = ScriptedLLM(["I would like a green tea, please", json.dumps({"translations": [
        "Vous voulez : I would like a green tea, please", "Autre chose ?"]})])
    c = Chat(translator_bot(text("You want: {{event.payload.text}}"), text("Anything else?"), model="Fast"), llm=llm)
    assert c.say("Je voudrais un thé vert, s'il vous plaît") == [
        "Vous voulez : I would like a green tea, please", "Autre chose ?"]
    incoming, outgoing = llm.requests
    assert incoming.purpose == outgoing.purpose == "agent:translator" and incoming.model == "Fast"
    assert "French (fr) into English (en)" in incoming.messages[0]["content"]
    assert incoming.messages[1]["content"] == "Je voudrais un thé vert, s'il vous plaît"
    assert json.loads(outgoing.messages[1]["content"]) == {"messages": [
        "You want: I would like a green tea, please", "Anything else?"]}
    assert c.user["TranslatorAgent"]["language"] == "fr"


def test_translator_keeps_the_original_text_in_the_event():
    llm = ScriptedLLM(["Where is my order?", json.dumps({"translations": ["(traduit)"]})])
    c = Chat(translator_bot(text("{{event.payload.originalText}} | {{event.preview}}")), llm=llm)
    c.say("Où est ma commande, s'il vous plaît ?")
    assert json.loads(llm.requests[1].messages[1]["content"]) == {"messages": [
        "Où est ma commande, s'il vous plaît ? | Where is my order?"]}


def test_translator_makes_no_call_when_the_user_writes_the_bots_language():
    llm = ScriptedLLM(["Here is the weather."])
    c = Chat(translator_bot(card("ai_generate_text", prompt="{{event.preview}}")), llm=llm)
    assert c.say("What is the weather like in London today?") == ["Here is the weather."]
    assert purposes(llm) == ["ai_generate_text"]
    assert c.user["TranslatorAgent"]["language"] == "en"
    assert c.streamed  # nothing to translate: the answer streams as usual


def test_a_short_message_keeps_the_known_language():
    llm = ScriptedLLM(["I would like a tea", json.dumps({"translations": ["Bien noté"]}),
                       "ok", json.dumps({"translations": ["d'accord"]})])
    c = Chat(translator_bot(text("Noted")), llm=llm)
    c.say("Je voudrais un thé, s'il vous plaît")
    assert c.say("ok") == ["d'accord"]  # "ok" alone says nothing of its language
    assert c.user["TranslatorAgent"]["language"] == "fr"


def test_a_language_set_by_the_bot_is_forced():
    llm = ScriptedLLM(["I would like to order a pizza", json.dumps({"translations": ["Guten Tag"]})])
    c = Chat(translator_bot(text("Hello")), llm=llm, user={"TranslatorAgent": {"language": "de"}})
    assert c.say("Je voudrais commander une pizza, s'il vous plaît") == ["Guten Tag"]
    assert c.user["TranslatorAgent"] == {"language": "de"}
    assert "from German (de)" in llm.requests[0].messages[0]["content"]
    assert "into German (de)" in llm.requests[1].messages[0]["content"]


def test_translator_bot_language_is_the_bots_default_unless_set():
    build = compile_bot(translator_bot(text("x")))
    assert build.agents.translator.bot_language == "en"
    build = compile_bot(translator_bot(text("x"), botLanguage="fr"))
    assert build.agents.translator.bot_language == "fr"


def test_a_failed_translation_sends_the_replies_untranslated():
    llm = ScriptedLLM([LLMError("down", provider="openai", status=500), LLMError("down", provider="openai", status=500)])
    c = Chat(translator_bot(text("Hello")), llm=llm)
    assert c.say("Je voudrais un thé vert, s'il vous plaît") == ["Hello"]
    assert c.last.error is None
    assert sum("Translator Agent" in log["message"] for log in c.last.logs) == 2


def test_the_summary_records_the_bots_language_and_the_policy_message_is_translated():
    llm = ScriptedLLM(["I want a competitor product", "Our competitor has it",
                       json.dumps({"translations": ["Désolé, je ne peux pas vous aider."]})])
    doc = looping_bot(card("ai_generate_text", prompt="{{event.preview}}"),
                      agents={"translator": {"enabled": True}, "summary": {"enabled": True},
                              "policy": {"enabled": True, "blockedKeywords": ["competitor"]}})
    c = Chat(doc, llm=llm)
    assert c.say("Je veux un produit d'un concurrent, s'il vous plaît") == ["Désolé, je ne peux pas vous aider."]
    assert memory(c)["transcript"] == [{"role": "user", "content": "I want a competitor product"},
                                       {"role": "assistant", "content": "Sorry, I can't help with that."}]
    assert c.streamed == []


def test_the_answer_to_a_sensitive_capture_never_goes_to_the_model():
    llm = ScriptedLLM(["I want to pay", json.dumps({"translations": ["Numéro de carte ?"]}),
                       json.dumps({"translations": ["Merci"]})])
    doc = bot(main(node("n", card("capture", capture="entity_regex", variable="workflow.n", prompt="Card number?",
                                  options={"pattern": r"\d{4}-\d{4}-\d{4}-\d{4}"}, sensitive=True),
                        text("Thanks")), start_next="n"),
              agents={"translator": {"enabled": True}, "summary": {"enabled": True}})
    c = Chat(doc, llm=llm)
    assert c.say("Je voudrais payer ma commande, s'il vous plaît") == ["Numéro de carte ?"]
    assert c.say("c'est 4111-1111-1111-1234") == ["Merci"]
    assert "4111" not in json.dumps([r.messages for r in llm.requests]) + json.dumps(c.last.trace)


def test_the_validator_can_ask_for_what_the_schema_cannot_see():
    from runtime.engine.agents import agent_problems

    doc = looping_bot(text("hi"), agents={"policy": {"blockedPatterns": ["("], "blockedKeywords": [" "]}})
    paths = [path for path, _ in agent_problems(doc)]
    assert paths == ["$.agents.policy.blockedKeywords[0]", "$.agents.policy.blockedPatterns[0]"]
    assert agent_problems(looping_bot(text("hi"))) == []


def test_summary_with_turns_zero_keeps_every_turn_up_to_its_size_cap():
    from runtime.engine.agents.summary import TRANSCRIPT_MAX_BYTES

    llm = ScriptedLLM(["Long talk."])
    c = Chat(looping_bot(text("ok"), agents={"summary": {"enabled": True, "turns": 0}}), llm=llm)
    for i in range(5):
        c.say(f"message {i}")
    assert len(memory(c)["transcript"]) == 10 and llm.requests == []
    c.say("x" * TRANSCRIPT_MAX_BYTES)  # the older turns no longer fit beside it
    assert memory(c)["summary"] == "Long talk." and purposes(llm) == ["agent:summary"]
    assert [m["content"][:1] for m in memory(c)["transcript"]] == ["x", "o"]
