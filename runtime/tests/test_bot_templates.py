"""The New Bot dialog's templates (examples/templates/): each imports, has no problem at all
(validation and type flow), and its conversation tests pass, offline."""
import json

import pytest

from flows import bot_templates, services
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
        services.create_bot(services.default_workspace(), name="X", template="order-status")
    assert "there is no bot template 'order-status'" in str(caught.value)
    assert "lead-capture" in str(caught.value)


@pytest.mark.parametrize("key", TEMPLATES)
def test_a_template_bot_exports_and_imports_to_the_same_draft(key):
    bot = services.create_bot(services.default_workspace(), name=f"My {key}", template=key)
    again = services.import_bot(services.export_bot(bot), workspace=services.default_workspace())
    assert again.draft == bot.draft
