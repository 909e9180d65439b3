"""Small bot files the runtime tests talk to, and helpers to store them like the studio does."""
import copy

from flows import services


def create_bot(definition: dict, *, publish: bool = True):
    bot = services.import_bot(copy.deepcopy(definition), workspace=services.default_workspace())
    if publish:
        services.publish(bot)
    return bot


def replace_and_publish(bot, definition: dict):
    services.replace_draft(bot, copy.deepcopy(definition), base_revision=None)
    return services.publish(bot)


def _flow(name, nodes, variables=()):
    return {"name": name, "variables": list(variables), "nodes": nodes}


def _bot(name, flows, *, variables=(), settings=None):
    return {
        "format": "flowstudio.bot/1",
        "name": name,
        "settings": {"inactivityTimeoutMinutes": 30, **(settings or {})},
        "variables": list(variables),
        "flows": flows,
    }


def echo_bot(name="Echo", *, reply="got {{event.preview}}", timeout_minutes=30):
    """Replies to every message and remembers them all: user.seen (list), user.count,
    bot.total. The dialog never ends, it waits again after each reply."""
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "loop"},
            {"id": "loop", "kind": "standard", "cards": [
                {"id": "remember", "type": "code", "code": (
                    "user.seen = (user.seen || []).concat([event.preview]);"
                    "user.count = (user.count || 0) + 1;"
                    "bot.total = (bot.total || 0) + 1;"
                )},
                {"id": "reply", "type": "text", "text": reply},
                {"id": "again", "type": "wait"},
            ], "next": "loop"},
        ]),
        _flow("timeout", [
            {"id": "entry", "kind": "entry", "next": "bye"},
            {"id": "bye", "kind": "standard", "cards": [
                {"id": "bye-text", "type": "text", "text": "Are you still there? Starting over."},
            ], "next": "exit"},
            {"id": "exit", "kind": "exit"},
        ]),
    ], variables=[
        {"scope": "user", "name": "seen", "type": "array"},
        {"scope": "user", "name": "count", "type": "number"},
        {"scope": "bot", "name": "total", "type": "number"},
    ], settings={"inactivityTimeoutMinutes": timeout_minutes})


def two_step_bot(name="Steps", *, label="v1"):
    """A two-message dialog that then ends: greets (tagged with `label`), waits, answers, ends."""
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "hello"},
            {"id": "hello", "kind": "standard", "cards": [
                {"id": "greet", "type": "text", "text": f"{label}: hello"},
                {"id": "w", "type": "wait"},
                {"id": "answer", "type": "text", "text": f"{label}: you said {{{{event.preview}}}}"},
            ], "next": "end"},
            {"id": "end", "kind": "end"},
        ]),
    ])


def variables_bot(name="Vars"):
    """Each message: user.visits += 1, bot.hits += 1, bot.last = the text; replies with both counts."""
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "count"},
            {"id": "count", "kind": "standard", "cards": [
                {"id": "c", "type": "code", "code": (
                    "user.visits = (user.visits || 0) + 1; bot.hits = (bot.hits || 0) + 1;"
                    "bot.last = event.preview;"
                )},
                {"id": "t", "type": "text", "text": "visits={{user.visits}} hits={{bot.hits}}"},
            ]},
        ]),
    ], variables=[
        {"scope": "user", "name": "visits", "type": "number", "default": 0},
        {"scope": "bot", "name": "hits", "type": "number", "default": 0},
        {"scope": "bot", "name": "last", "type": "string"},
        {"scope": "bot", "name": "other", "type": "string"},
    ])


def rich_bot(name="Rich"):
    """Sends one message of several types, then ends."""
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "show"},
            {"id": "show", "kind": "standard", "cards": [
                {"id": "t", "type": "text", "text": "Here you go, {{event.preview}}"},
                {"id": "i", "type": "image", "url": "https://example.org/p.png", "title": "Pizza"},
                {"id": "c", "type": "card", "title": "Menu", "subtitle": "Today",
                 "actions": [{"action": "say", "label": "Small", "value": "s"},
                             {"action": "say", "label": "Large", "value": "l"}]},
            ]},
        ]),
    ])


def _capture(id, capture, variable, prompt, **fields):
    return {"id": id, "type": "capture", "capture": capture, "variable": variable, "prompt": prompt, **fields}


def capture_bot(name="Captures"):
    """A sign-up dialog made of Capture Information cards, one node per option under test.

    The first message picks the scenario by its first word (see `pick`); each scenario ends
    the dialog, so the next message picks again."""
    text = _text
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "pick"},
            {"id": "pick", "kind": "standard", "cards": [
                {"id": "to-retries", "type": "expression", "condition": "event.preview === 'retries'", "next": "retries"},
                {"id": "to-age", "type": "expression", "condition": "event.preview === 'age'", "next": "age"},
                {"id": "to-cancel", "type": "expression", "condition": "event.preview === 'cancel test'",
                 "next": "cancel"},
                {"id": "to-chain", "type": "expression", "condition": "event.preview === 'sign up'", "next": "chain"},
                {"id": "to-later", "type": "expression", "condition": "event.preview === 'later'", "next": "later"},
                {"id": "to-email", "type": "expression", "condition": "event.preview === 'email'", "next": "email"},
            ], "next": "menu"},
            {"id": "menu", "kind": "standard", "cards": [text("menu", "Say retries, age, cancel test, sign up, later "
                                                                      "or email.")], "next": "end"},
            # retries and the failure port
            {"id": "retries", "kind": "standard", "cards": [
                _capture("cap-count", "number", "workflow.count", "How many pizzas?", retries=2,
                         retryMessage="Please give me a number, like 3.", onFailure="gave-up"),
                text("count-ok", "{{workflow.count}} pizzas it is."),
            ], "next": "end"},
            {"id": "gave-up", "kind": "standard", "cards": [text("gave-up-text", "Let's skip the pizzas.")],
             "next": "end"},
            # validation into a user variable
            {"id": "age", "kind": "standard", "cards": [
                _capture("cap-age", "number", "user.age", "How old are you?", validation="value >= 18",
                         validationMessage="You must be 18 or older.", retryMessage="A number, please."),
                text("age-ok", "Age {{user.age}} noted."),
            ], "next": "end"},
            # cancellation with confirmation
            {"id": "cancel", "kind": "standard", "cards": [
                _capture("cap-city", "raw", "workflow.city", "Which city?", confirmCancel=True,
                         confirmCancelMessage="Stop the delivery set-up?", onFailure="cancelled"),
                text("city-ok", "Delivering to {{workflow.city}}."),
            ], "next": "end"},
            {"id": "cancelled", "kind": "standard", "cards": [text("cancelled-text", "Cancelled; nothing was saved.")],
             "next": "end"},
            # prompt chaining: one message can fill all three
            {"id": "chain", "kind": "standard", "cards": [
                text("chain-ask", "Tell me your name, email and phone."),
                {"id": "chain-wait", "type": "wait"},
                _capture("cap-name", "person", "workflow.name", "Your name?", extractFromHistory=1),
                _capture("cap-mail", "email", "workflow.email", "Your email?", extractFromHistory=1),
                _capture("cap-tel", "phone", "workflow.phone", "Your phone?", extractFromHistory=1),
                text("chain-done", "{{workflow.name.first}} {{workflow.name.last}} / {{workflow.email}} / "
                                   "{{workflow.phone}}"),
            ], "next": "end"},
            # extract from history: the email was said two messages before the capture is reached
            {"id": "later", "kind": "standard", "cards": [
                text("later-ask", "Tell me about yourself."),
                {"id": "later-wait-1", "type": "wait"},
                text("later-more", "Anything else?"),
                {"id": "later-wait-2", "type": "wait"},
                _capture("cap-later-mail", "email", "workflow.email", "Your email?", extractFromHistory=3),
                text("later-done", "Got {{workflow.email}}."),
            ], "next": "end"},
            # skip if filled, with a user variable that outlives the conversation
            {"id": "email", "kind": "standard", "cards": [
                _capture("cap-user-mail", "email", "user.email", "Your email?", skipIfFilled=True),
                text("email-done", "We will write to {{user.email}}."),
            ], "next": "end"},
            {"id": "end", "kind": "end"},
        ]),
    ], variables=[
        {"scope": "user", "name": "age", "type": "number"},
        {"scope": "user", "name": "email", "type": "string"},
    ])


def _text(id, text):
    return {"id": id, "type": "text", "text": text}


GIFT_CARD_UTTERANCES = [
    "do you sell gift cards", "I want to buy a gift card", "what's my gift card balance",
    "can I pay with a gift card", "how do gift cards work", "send a gift voucher to a friend",
    "buy a voucher", "check my gift card", "redeem a gift card", "e-gift card please",
]


def shop_bot(library_intents: list[dict], name="Shop"):
    """Routes with Intent cards: library intents track_order and cancel_order, an inline
    gift-card intent, and the node's default transition for anything else. Uses a pattern
    entity (order numbers) and a list entity (products)."""
    text = _text
    return {
        **_bot(name, [
            _flow("main", [
                {"id": "start", "kind": "start", "next": "ask"},
                {"id": "ask", "kind": "standard", "cards": [
                    text("ask-text", "How can I help?"),
                    {"id": "ask-wait", "type": "wait"},
                    {"id": "is-track", "type": "intent", "intent": "track_order", "next": "track"},
                    {"id": "is-gift", "type": "intent", "utterances": GIFT_CARD_UTTERANCES, "next": "gift",
                     "label": "gift cards"},
                    {"id": "is-cancel", "type": "intent", "intent": "cancel_order", "next": "cancel"},
                ], "next": "fallback"},
                {"id": "track", "kind": "standard", "cards": [
                    text("track-text", "Tracking ({{event.nlu.intent}}) order "
                                       "{{event.nlu.entities.filter(e => e.type === 'order_number')"
                                       ".map(e => e.value).join(',')}}."),
                ], "next": "ask"},
                {"id": "gift", "kind": "standard", "cards": [
                    text("gift-text", "Gift cards: library intent was {{event.nlu.intent}}."),
                ], "next": "ask"},
                {"id": "cancel", "kind": "standard", "cards": [
                    text("cancel-text", "Cancelling: {{JSON.stringify(event.nlu.entities.map(e => [e.type, e.value]))}}"),
                ], "next": "ask"},
                {"id": "fallback", "kind": "standard", "cards": [
                    text("fallback-text", "Sorry, I did not get that ({{event.nlu.intent}})."),
                ], "next": "ask"},
            ]),
        ]),
        "intents": library_intents,
        "entities": [
            {"name": "order_number", "type": "pattern", "pattern": r"\b[A-Z]{2}-\d{4}\b"},
            {"name": "product", "type": "list", "fuzzy": "medium", "values": [
                {"name": "laptop", "synonyms": ["notebook", "macbook"]},
                {"name": "headphones", "synonyms": ["earbuds", "headset"]},
            ]},
        ],
    }


def busy_bot(name="Busy", *, busy_ms=1900):
    """A code card that busy-waits `busy_ms` in a node looping back to itself: without a turn
    budget one message keeps the engine busy for every pass the loop guard allows."""
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "spin"},
            {"id": "spin", "kind": "standard", "cards": [
                {"id": "burn", "type": "code",
                 "code": f"const t0 = Date.now(); while (Date.now() - t0 < {busy_ms}) {{}}"},
            ], "next": "spin"},
        ]),
    ], settings={"inactivityTimeoutMinutes": 0})


def handoff_bot(name="Helpdesk"):
    """Echoes every message ("bot: <text>"); "human" escalates (reason, priority high, a
    message to the user); handed back it says "Back with the bot." and echoes again. The
    conversation_end flow says goodbye."""
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "talk"},
            {"id": "talk", "kind": "standard", "cards": [
                {"id": "to-human", "type": "expression", "condition": "event.preview.includes('human')",
                 "next": "handoff"},
                {"id": "echo", "type": "text", "text": "bot: {{event.preview}}"},
                {"id": "again", "type": "wait"},
            ], "next": "talk"},
            {"id": "handoff", "kind": "standard", "cards": [
                {"id": "escalate", "type": "escalate", "reason": "the user asked: {{event.preview}}",
                 "priority": "high", "message": "Connecting you with a person."},
                {"id": "back", "type": "text", "text": "Back with the bot."},
                {"id": "wait-after", "type": "wait"},
            ], "next": "talk"},
        ]),
        _flow("conversation_end", [
            {"id": "entry", "kind": "entry", "next": "bye"},
            {"id": "bye", "kind": "standard", "cards": [{"id": "bye-text", "type": "text", "text": "Goodbye!"}],
             "next": "exit"},
            {"id": "exit", "kind": "exit"},
        ]),
    ])


# The background workflow bot lives beside the engine's tests (it is plain JSON).
from runtime.engine.tests.workflow_bots import ORDER_REQUESTS, order_workflow_bot  # noqa: E402,F401
