"""The explorer's folders live in the bot file (`folders`), so an empty new folder survives
a reload; an export leaves the list out while it is empty."""
import json

from flows.botfile import canonical_bot, validate_bot
from flows.botfile.canonical import for_export
from flows.botfile.tests.bots import base_bot


def with_folders(folders) -> dict:
    bot = base_bot()
    bot["folders"] = folders
    return bot


def test_an_empty_folder_is_kept_in_the_canonical_form_and_the_export():
    bot = with_folders(["shop", "support"])
    assert validate_bot(bot) == []
    assert canonical_bot(bot)["folders"] == ["shop", "support"]
    exported = for_export(bot)
    assert exported["folders"] == ["shop", "support"]
    assert canonical_bot(json.loads(json.dumps(exported))) == canonical_bot(bot)


def test_folders_come_between_schemas_and_flows():
    keys = list(canonical_bot(with_folders(["shop"])))
    assert keys.index("schemas") + 1 == keys.index("folders") == keys.index("flows") - 1


def test_no_folders_is_an_empty_list_left_out_of_the_export():
    bot = base_bot()
    assert canonical_bot(bot)["folders"] == []
    assert "folders" not in for_export(bot)
    assert "folders" not in for_export(with_folders([]))


def test_a_flow_may_name_a_folder_the_list_does_not_hold():
    bot = with_folders(["empty"])
    bot["flows"][0]["folder"] = "elsewhere"
    assert validate_bot(bot) == []


def test_bad_folder_lists_are_named_in_plain_words():
    messages = {str(p) for p in validate_bot(with_folders(["shop", "shop", " padded", "", 3]))}
    assert messages == {
        "$.folders: must not repeat an item",
        "$.folders[2]: ' padded' is not valid: 1 to 100 characters, not starting or ending with a space",
        "$.folders[3]: '' is not valid: 1 to 100 characters, not starting or ending with a space",
        "$.folders[4]: must be a string, not a number",
    }
    assert [str(p) for p in validate_bot(with_folders("shop"))] == ["$.folders: must be a list, not a string"]
