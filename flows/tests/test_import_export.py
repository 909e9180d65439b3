import json

import pytest

from flows.botfile.canonical import canonical_bot, for_export
from flows.botfile.validate import parse_bot_file
from flows.models import Bot
from flows.services import BotFileInvalid, StaleRevision, export_bot, import_bot, replace_draft

from .conftest import EXAMPLES

pytestmark = pytest.mark.django_db


def test_the_demo_bot_ships_with_the_project():
    assert "demo.bot.json" in [path.name for path in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_export_then_import_gives_an_equal_bot(path, workspace):
    text = path.read_text()
    bot = import_bot(text, workspace=workspace)

    exported = export_bot(bot)
    assert exported == for_export(parse_bot_file(text))
    assert canonical_bot(exported) == canonical_bot(parse_bot_file(text))  # import fills the defaults back
    again = import_bot(json.dumps(exported), workspace=workspace)
    assert export_bot(again) == exported
    assert again.draft == bot.draft
    # Positions live apart from the logic so moving a box is not a logic change.
    assert "layout" not in bot.draft
    assert bot.layout == exported["layout"]


def test_import_keeps_the_bot_name_and_creator(workspace, tiny_bot_doc, django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bot = import_bot(tiny_bot_doc, workspace=workspace, user=alice)
    bot.refresh_from_db()
    assert (bot.name, bot.workspace, bot.created_by, bot.draft_revision) == ("Tiny", workspace, alice, 1)


def test_an_invalid_file_stores_nothing_and_names_the_problem(workspace, tiny_bot_doc):
    tiny_bot_doc["flows"][0]["nodes"][1]["next"] = "nowhere"
    before = Bot.objects.count()

    with pytest.raises(BotFileInvalid) as caught:
        import_bot(tiny_bot_doc, workspace=workspace)

    assert Bot.objects.count() == before
    paths = {problem.path: problem.message for problem in caught.value.problems}
    assert "nowhere" in paths["$.flows[0].nodes[1].next"]


def test_text_that_is_not_json_stores_nothing(workspace):
    before = Bot.objects.count()
    with pytest.raises(BotFileInvalid) as caught:
        import_bot('{"format": "flowstudio.bot/1",\n  "name": }', workspace=workspace)
    assert Bot.objects.count() == before
    assert "line 2" in str(caught.value)


def test_export_never_contains_config_values(workspace, tiny_bot_doc):
    tiny_bot_doc["config"] = [{"name": "API_KEY", "description": "payments"}]
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    bot.config_values.create(name="API_KEY", environment="production", value="sk-live-very-secret")

    text = json.dumps(export_bot(bot))

    assert "API_KEY" in text
    assert "sk-live-very-secret" not in text


def test_replace_draft_bumps_the_revision(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    tiny_bot_doc["name"] = "Tiny 2"
    tiny_bot_doc["flows"][0]["nodes"][1]["cards"][0]["text"] = "Hello again"

    replace_draft(bot, tiny_bot_doc, base_revision=1)

    bot.refresh_from_db()
    assert bot.draft_revision == 2
    assert bot.name == "Tiny 2"
    assert export_bot(bot)["flows"][0]["nodes"][1]["cards"][0]["text"] == "Hello again"


def test_replace_draft_from_a_stale_copy_is_refused(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    replace_draft(bot, tiny_bot_doc, base_revision=1)
    tiny_bot_doc["name"] = "Lost update"

    with pytest.raises(StaleRevision) as caught:
        replace_draft(bot, tiny_bot_doc, base_revision=1)

    assert caught.value.current_revision == 2
    bot.refresh_from_db()
    assert (bot.name, bot.draft_revision) == ("Tiny", 2)


def test_replace_draft_with_an_invalid_file_changes_nothing(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    before = export_bot(bot)
    del tiny_bot_doc["flows"]

    with pytest.raises(BotFileInvalid):
        replace_draft(bot, tiny_bot_doc, base_revision=1)

    bot.refresh_from_db()
    assert bot.draft_revision == 1
    assert export_bot(bot) == before
