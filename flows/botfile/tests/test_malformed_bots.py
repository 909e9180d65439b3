"""Each case breaks the valid base bot in one way and expects the problem at the exact
path with a reason a bot author would understand."""
import pytest

from flows.botfile import validate_bot

from .bots import add_flow, ask_cards, base_bot, main_flow

CASES = []


def case(path: str, phrase: str):
    def register(mutate):
        CASES.append(pytest.param(mutate, path, phrase, id=mutate.__name__))
        return mutate

    return register


# ---- top level -------------------------------------------------------------------------
@case("$.flow", "unknown top-level key 'flow'; did you mean 'flows'?")
def unknown_top_level_key(bot):
    bot["flow"] = []


@case("$.format", "required field 'format' is missing")
def missing_format(bot):
    del bot["format"]


@case("$.format", "must be 'flowstudio.bot/1', not 'flowstudio.bot/2'")
def wrong_format_version(bot):
    bot["format"] = "flowstudio.bot/2"


@case("$.name", "must be at most 100 characters long")
def name_too_long(bot):
    bot["name"] = "x" * 101


@case("$.flows", "must be a list, not an object")
def flows_not_a_list(bot):
    bot["flows"] = {"main": {}}


# ---- settings --------------------------------------------------------------------------
@case("$.settings.timezone", "unknown time zone 'Mars/Olympus_Mons'")
def bad_timezone(bot):
    bot["settings"] = {"timezone": "Mars/Olympus_Mons"}


@case("$.settings.inactivityTimeoutMinutes", "must be at most 1440")
def timeout_too_long(bot):
    bot["settings"] = {"inactivityTimeoutMinutes": 2000}


@case("$.settings.languages[1]", "'xx' is not an ISO 639-1 language code")
def unknown_language(bot):
    bot["settings"] = {"languages": ["en", "xx"]}


@case("$.settings.defaultLanguage", "'fr' is not in settings.languages")
def default_language_not_offered(bot):
    bot["settings"] = {"languages": ["en", "de"], "defaultLanguage": "fr"}


# ---- variables, config, schemas -----------------------------------------------------------
@case("$.variables[1].default", "'xl' is not one of the enum's values")
def enum_default_not_in_values(bot):
    bot["variables"][1]["default"] = "xl"


@case("$.variables[2].name", "duplicate user variable name 'firstName'")
def duplicate_user_variable(bot):
    bot["variables"].append({"scope": "user", "name": "firstName", "type": "number"})


@case("$.variables[0].values", "'values' is only for variables of type enum")
def values_on_a_string_variable(bot):
    bot["variables"][0]["values"] = ["a"]


@case("$.variables[2].pattern", "is not a valid regular expression")
def broken_pattern(bot):
    bot["variables"].append({"scope": "user", "name": "zip", "type": "pattern", "pattern": "[0-9"})


@case("$.variables[2].default", "must be an ISO 8601 date")
def date_default_not_iso(bot):
    bot["variables"].append({"scope": "user", "name": "born", "type": "date", "default": "31/01/2020"})


@case("$.variables[2].schema", "no schema named 'Address' in $.schemas")
def schema_variable_names_a_missing_schema(bot):
    bot["variables"].append({"scope": "user", "name": "home", "type": "schema", "schema": "Address"})


@case("$.variables[2].name", "is not valid: a letter or '_'")
def variable_name_with_a_dash(bot):
    bot["variables"].append({"scope": "user", "name": "first-name", "type": "string"})


@case("$.schemas[0].schema.type", "is not a valid JSON Schema")
def invalid_json_schema(bot):
    bot["schemas"] = [{"name": "Address", "schema": {"type": "strnig"}}]


@case("$.config[0].value", "values of configuration variables never go in the bot file")
def config_value_present(bot):
    bot["config"][0]["value"] = "sk-live-123"


@case("$.config[1].name", "duplicate configuration variable name 'API_KEY'")
def duplicate_config_name(bot):
    bot["config"].append({"name": "API_KEY"})


# ---- flows and nodes --------------------------------------------------------------------
@case("$.flows", "no flow named 'main'")
def missing_main(bot):
    main_flow(bot)["name"] = "start_here"


@case("$.flows[3].name", "duplicate flow name 'checkout'")
def duplicate_flow_name(bot):
    add_flow(bot, "checkout", [])


@case("$.flows[0].nodes[4].kind", "a second start node; flow 'main' already starts at 'start'")
def second_start_node(bot):
    main_flow(bot)["nodes"].append({"id": "start2", "kind": "start", "next": "ask"})


@case("$.flows[0].nodes[4].kind", "exit nodes are not allowed in main")
def exit_node_in_main(bot):
    main_flow(bot)["nodes"].append({"id": "out", "kind": "exit"})


@case("$.flows[1].nodes[3].kind", "end nodes are only allowed in main")
def end_node_in_a_subflow(bot):
    bot["flows"][1]["nodes"].append({"id": "stop", "kind": "end"})


@case("$.flows[3].nodes", "flow 'helper' needs at least one exit node")
def custom_flow_without_exit(bot):
    flow = add_flow(bot, "helper", [])
    flow["nodes"] = flow["nodes"][:2]
    flow["nodes"][1]["next"] = None


@case("$.flows[1].nodes", "flow 'checkout' needs exactly one entry node; it has none")
def subflow_without_entry(bot):
    bot["flows"][1]["nodes"][0]["kind"] = "standard"


@case("$.flows[0].nodes[2].next", "no node 'nowhere' in flow 'main'")
def node_transition_to_a_missing_node(bot):
    main_flow(bot)["nodes"][2]["next"] = "nowhere"


@case("$.flows[0].nodes[1].cards[1].next", "no node 'upsell' in flow 'main'")
def card_transition_to_a_missing_node(bot):
    ask_cards(bot)[1]["next"] = "upsell"


@case("$.flows[0].nodes[2].next", "no node 'charge' in flow 'main'")
def transition_into_another_flow(bot):
    main_flow(bot)["nodes"][2]["next"] = "charge"


@case("$.flows[0].nodes[2].next", "cannot transition to 'start': it is a start node")
def transition_back_to_start(bot):
    main_flow(bot)["nodes"][2]["next"] = "start"


@case("$.flows[0].nodes[0].next", "the start node must lead somewhere")
def start_without_next(bot):
    main_flow(bot)["nodes"][0]["next"] = None


@case("$.flows[1].nodes[2].next", "exit nodes have no next")
def exit_with_next(bot):
    bot["flows"][1]["nodes"][2]["next"] = "charge"


@case("$.flows[0].nodes[0].cards", "start nodes hold no cards")
def cards_on_the_start_node(bot):
    main_flow(bot)["nodes"][0]["cards"] = [{"id": "early", "type": "text", "text": "hi"}]


@case("$.flows[0].nodes[3].id", "duplicate node id 'ask'")
def duplicate_node_id(bot):
    main_flow(bot)["nodes"][3]["id"] = "ask"


@case("$.flows[0].nodes[1].id", "is not valid: 1-64 letters, digits, '_' or '-'")
def node_id_with_a_space(bot):
    main_flow(bot)["nodes"][1]["id"] = "ask me"
    main_flow(bot)["nodes"][0]["next"] = "ask me"
    del bot["layout"]["main"]["ask"]


@case("$.flows[0].nodes[1].kind", "'decision' is not allowed; use one of: start, entry")
def unknown_node_kind(bot):
    main_flow(bot)["nodes"][1]["kind"] = "decision"


# ---- cards ------------------------------------------------------------------------------
@case("$.flows[0].nodes[1].cards[0].type", "unknown card type 'txt'; known card types: ")
def unknown_card_type(bot):
    ask_cards(bot)[0]["type"] = "txt"


@case("$.flows[0].nodes[1].cards[1].condition", "is required")
def missing_required_card_field(bot):
    del ask_cards(bot)[1]["condition"]


@case("$.flows[0].nodes[1].cards[0].txt", "is not a field of a text card")
def unknown_card_field(bot):
    ask_cards(bot)[0]["txt"] = "typo"


@case("$.flows[0].nodes[1].cards[0].text", "has no matching `}}`")
def broken_template_in_a_text_card(bot):
    ask_cards(bot)[0]["text"] = "Hi {{user.firstName"


@case("$.flows[0].nodes[1].cards[2].inputs.amount", "unexpected end of expression")
def broken_expression_in_a_call_input(bot):
    ask_cards(bot)[2]["inputs"]["amount"] = "{{ 1 + }}"


@case("$.flows[1].nodes[1].cards[1].level", "'info', 'warn' or 'error'")
def log_card_with_an_unknown_level(bot):
    bot["flows"][1]["nodes"][1]["cards"].append({"id": "lg", "type": "log", "level": "debug", "message": "x"})


@case("$.flows[0].nodes[1].cards[2].id", "required field 'id' is missing")
def card_without_id(bot):
    del ask_cards(bot)[2]["id"]


@case("$.flows[1].nodes[1].cards[0].id", "card id 'hello' is already used at $.flows[0].nodes[1].cards[0]")
def duplicate_card_id_across_flows(bot):
    bot["flows"][1]["nodes"][1]["cards"][0]["id"] = "hello"


@case("$.flows[0].nodes[1].cards[2].inputs.coupon", "'coupon' is not an input variable of flow 'checkout'")
def input_variable_that_does_not_exist(bot):
    ask_cards(bot)[2]["inputs"]["coupon"] = "FREE"


@case("$.flows[0].nodes[1].cards[2].inputs.paid", "'paid' is not an input variable of flow 'checkout'")
def binding_an_output_as_input(bot):
    ask_cards(bot)[2]["inputs"]["paid"] = "{{true}}"


@case("$.flows[0].nodes[1].cards[2].flow", "no flow named 'payment'")
def call_to_a_missing_flow(bot):
    ask_cards(bot)[2]["flow"] = "payment"


@case("$.flows[0].nodes[1].cards[2].flow", "cannot call the reserved flow 'error'")
def call_to_a_reserved_flow(bot):
    ask_cards(bot)[2]["flow"] = "error"


@case("$.flows[0].nodes[2].cards[1].name", "already stores its outputs under 'checkout'")
def two_call_cards_with_one_name(bot):
    main_flow(bot)["nodes"][2]["cards"].append(
        {"id": "pay-again", "type": "call", "flow": "checkout", "name": "checkout"})


@case("$.flows[3].nodes[1].cards[0]", "flow calls form a cycle: ping → pong → ping")
def cycle_of_flow_calls(bot):
    add_flow(bot, "ping", [{"id": "to-pong", "type": "call", "flow": "pong", "name": "pong"}])
    add_flow(bot, "pong", [{"id": "to-ping", "type": "call", "flow": "ping", "name": "ping"}])


@case("$.flows[1].nodes[1].cards[1]", "flow calls form a cycle: checkout → checkout")
def flow_calling_itself(bot):
    bot["flows"][1]["nodes"][1]["cards"].append(
        {"id": "again", "type": "call", "flow": "checkout", "name": "again"})


# ---- layout -----------------------------------------------------------------------------
@case("$.layout.main.ghost", "flow 'main' has no node 'ghost'")
def layout_for_a_missing_node(bot):
    bot["layout"]["main"]["ghost"] = [10, 10]


@case("$.layout.payments", "layout for a flow that does not exist: 'payments'")
def layout_for_a_missing_flow(bot):
    bot["layout"]["payments"] = {"entry": [0, 0]}


@case("$.layout.main.ask", "must be an [x, y] position")
def layout_position_with_three_numbers(bot):
    bot["layout"]["main"]["ask"] = [1, 2, 3]


# ---- library ----------------------------------------------------------------------------
@case("$.intents[0].utterances", "has 9 utterances; an intent needs at least 10")
def too_few_utterances(bot):
    bot["intents"][0]["utterances"].pop()


@case("$.intents[0].utterances[2]", "is 281 characters long; an utterance may have at most 280")
def utterance_too_long(bot):
    bot["intents"][0]["utterances"][2] = "x" * 281


@case("$.intents[1].name", "duplicate intent name 'track_order' (first used at $.intents[0])")
def duplicate_intent(bot):
    bot["intents"].append(dict(bot["intents"][0]))


@case("$.intents[0].name", "'none' is reserved for messages that match no intent")
def intent_named_none(bot):
    bot["intents"][0]["name"] = "none"
    ask_cards(bot)[4]["intent"] = "none"


@case("$.intents[0].name", "'track:order' is not a valid name")
def intent_name_with_a_colon(bot):
    bot["intents"][0]["name"] = "track:order"


@case("$.intents[0].examples", "is not a field of an intent")
def intent_field_typo(bot):
    bot["intents"][0]["examples"] = bot["intents"][0].pop("utterances")


@case("$.intents", "must be a list, not an object")
def intents_not_a_list(bot):
    bot["intents"] = {"track_order": []}


@case("$.entities[0].pattern", "is not a valid regular expression")
def entity_bad_regex(bot):
    bot["entities"][0]["pattern"] = "[A-Z"


@case("$.entities[1].fuzzy", "must be one of: 'strict', 'medium' or 'loose'")
def entity_bad_fuzzy(bot):
    bot["entities"][1]["fuzzy"] = "very"


@case("$.entities[1].values", "must not be empty")
def list_entity_without_values(bot):
    bot["entities"][1]["values"] = []


@case("$.entities[0].name", "'email' is a system entity")
def entity_named_like_a_system_entity(bot):
    bot["entities"][0]["name"] = "email"


@case("$.entities[1].type", "must be 'list' or 'pattern', not 'regex'")
def entity_unknown_type(bot):
    bot["entities"][1]["type"] = "regex"


@case("$.flows[0].nodes[1].cards[4].intent", "no intent 'refund' in the library (intents: track_order)")
def intent_card_naming_a_missing_intent(bot):
    ask_cards(bot)[4]["intent"] = "refund"


@case("$.flows[0].nodes[1].cards[4].utterances", "has 2 utterances; an intent needs at least 10")
def inline_intent_with_too_few_utterances(bot):
    ask_cards(bot)[4]["utterances"] = ["refund", "money back"]
    del ask_cards(bot)[4]["intent"]


@case("$.flows[0].nodes[1].cards[5].entity", "entity 'sku' is a pattern entity; an entity_list capture needs a list")
def capture_naming_an_entity_of_the_wrong_type(bot):
    ask_cards(bot)[5]["entity"] = "sku"


@case("$.flows[0].nodes[1].cards[5].options", "options.unit is not an option of an entity_list capture")
def capture_option_of_another_type(bot):
    ask_cards(bot)[5]["options"] = {"unit": "kg"}


@case("$.agents.policy.blockedPatterns[1]", "'([a-z' is not a valid regular expression")
def policy_pattern_that_is_not_a_regular_expression(bot):
    bot["agents"] = {"policy": {"enabled": True, "blockedPatterns": ["refund", "([a-z"]}}


@case("$.settings.llm.temperature", "unknown")
def llm_setting_that_does_not_exist(bot):
    bot.setdefault("settings", {})["llm"] = {"provider": "acme", "temperature": 2}


@pytest.mark.parametrize("mutate, path, phrase", CASES)
def test_a_malformed_bot_names_the_place_and_the_reason(mutate, path, phrase):
    bot = base_bot()
    mutate(bot)
    problems = validate_bot(bot)
    at_path = [p.message for p in problems if p.path == path]
    assert at_path, f"no problem at {path}; got {[str(p) for p in problems]}"
    assert any(phrase in message for message in at_path), at_path


def test_the_base_bot_is_valid():
    assert validate_bot(base_bot()) == []


def test_there_are_enough_distinct_cases():
    assert len(CASES) >= 25


@case("$.flows[1].nodes[1].cards[0].code", "SyntaxError: the code closes the function it runs in")
def execute_code_breaking_out_of_its_function(bot):
    bot["flows"][1]["nodes"][1]["cards"][0]["code"] = "}); while (true) {} (async function () {"


@case("$.flows[1].nodes[1].cards[0].code", "SyntaxError: Unexpected token ')' (line 2)")
def syntax_error_in_execute_code(bot):
    bot["flows"][1]["nodes"][1]["cards"][0]["code"] = "workflow.paid = true;\nif (workflow.amount > ) {}"
