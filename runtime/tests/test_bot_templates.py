"""The New Bot dialog's templates (examples/templates/): each imports, has no problem at all
(validation and type flow), and its conversation tests pass, offline."""
import json

import pytest

from flows import bot_templates, services
from flows.tables import service as tables
from flows.botfile.typeflow import check
from flows.botfile.validate import validate_bot
from runtime import conversation_tests

pytestmark = pytest.mark.django_db

TEMPLATES = [template.key for template in bot_templates.TEMPLATES]


def test_every_template_file_is_listed_and_every_listed_template_has_a_file():
    files = sorted(path.name.removesuffix(".bot.json") for path in bot_templates.TEMPLATES_DIR.glob("*.bot.json"))
    assert files == sorted(TEMPLATES)


@pytest.mark.parametrize("key", TEMPLATES)
def test_a_template_has_no_problems(key):
    document = json.loads(bot_templates.BY_KEY[key].path.read_text())
    # A template's example rows are the import format's (`tables[].rows`, as an export made
    # with rows): they go into the database when the bot is made, never into its draft.
    for table in document.get("tables") or []:
        table.pop("rows", None)
    assert validate_bot(document) == []
    report = check(document)
    assert (report.errors, report.warnings) == ([], [])
    assert "error" in [flow["name"] for flow in document["flows"]], "every template says so when a turn fails"


@pytest.mark.parametrize("key", [key for key in TEMPLATES if key != "blank"])
def test_a_bot_made_from_a_template_passes_its_conversation_tests(key):
    bot = services.create_bot(services.default_workspace(), name=f"My {key}", template=key)
    results = conversation_tests.run_tests(bot)
    assert results, "a template shows how its bot talks with at least one test"
    assert all(result.passed for result in results), conversation_tests.format_results(results)
    if bot_templates.BY_KEY[key].needs_llm:
        assert all(result.mode == "replay" for result in results), "a template's AI tests run offline"


def test_the_blank_bot_is_todays_new_bot_with_its_error_flow():
    bot = services.create_bot(services.default_workspace(), name="Mine", description="Mine only")
    assert bot.name == "Mine" and bot.draft["description"] == "Mine only"
    flows = {flow["name"]: flow for flow in bot.draft["flows"]}
    assert [node["id"] for node in flows["main"]["nodes"]] == ["start", "end"]
    assert "error" in flows


def test_an_unknown_template_is_refused_naming_the_templates():
    with pytest.raises(services.InvalidChange) as caught:
        services.create_bot(services.default_workspace(), name="X", template="weather-report")
    assert "there is no bot template 'weather-report'" in str(caught.value)
    assert "lead-capture" in str(caught.value)


@pytest.mark.parametrize("key", TEMPLATES)
def test_a_template_bot_exports_and_imports_to_the_same_draft(key):
    bot = services.create_bot(services.default_workspace(), name=f"My {key}", template=key)
    again = services.import_bot(services.export_bot(bot), workspace=services.default_workspace())
    assert again.draft == bot.draft


def test_the_order_status_template_brings_its_example_orders():
    bot = services.create_bot(services.default_workspace(), name="Shop", template="order-status")
    assert "rows" not in bot.draft["tables"][0]
    found = tables.find_rows(bot.pk, tables.get_table(bot, "Orders"), filter={"status": "shipped"})
    assert [row["orderNumber"] for row in found["rows"]] == ["A1001"]
    assert tables.count_rows(bot.pk, tables.get_table(bot, "Orders")) == 3


def test_the_support_template_hands_the_conversation_to_people_and_takes_it_back():
    from runtime import handoff, turns
    from runtime.models import Conversation

    bot = services.create_bot(services.default_workspace(), name="Help desk", template="support-handoff")
    services.publish(bot)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot), channel="webchat")
    turns.send_user_message(conversation, "hello")
    said = [o.get("text") for o in turns.send_user_message(conversation, "can I talk to someone").outputs]
    assert said == ["I am passing you to a member of our team; they will answer here shortly."]
    conversation.refresh_from_db()
    assert conversation.handoff_status == Conversation.Handoff.WAITING
    assert conversation.handoff_reason == "The visitor asked for a person: can I talk to someone"
    assert list(handoff.inbox([bot.pk])) == [conversation]
    assert turns.send_user_message(conversation, "hello?").outputs == []  # people answer now
    outcomes = handoff.hand_back(conversation)
    assert [o.get("text") for outcome in outcomes for o in outcome.outputs] == [
        "Welcome back! Anything else I can help with?"]
    said = [o.get("text") for o in turns.send_user_message(conversation, "I forgot my password").outputs]
    assert said and said[0].startswith("To reset your password")


@pytest.mark.parametrize("key", TEMPLATES)
def test_a_bot_made_from_a_template_publishes(key):
    bot = services.create_bot(services.default_workspace(), name=f"Live {key}", template=key)
    version = services.publish(bot)
    assert version.number == 1 and bot.versions.count() == 1


def test_the_faq_knowledge_template_brings_its_knowledge_base_and_exports_it():
    from runtime.knowledge import indexing

    bot = services.create_bot(services.default_workspace(), name="Shop FAQ", template="faq-knowledge")
    (kb,) = bot.knowledge_bases.all()
    assert kb.name == "FAQ" and kb.sources.count() == 5 and bot.draft["knowledgeBases"] == []
    assert set(indexing.index_waiting(bot.pk).values()) == {"ready"}
    template = bot_templates.template_document("faq-knowledge")
    assert services.export_bot(bot)["knowledgeBases"] == template["knowledgeBases"]
