import pytest

from flows.services import NotPublished, get_build, get_version_build, import_bot, publish, replace_draft, save_layout

pytestmark = pytest.mark.django_db


def test_there_is_no_published_build_before_publishing(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    with pytest.raises(NotPublished, match="no published version"):
        get_build(bot, draft=False)


def test_the_draft_build_is_compiled_once_per_revision(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    first = get_build(bot, draft=True)
    assert first.version is None
    assert get_build(bot, draft=True).build is first.build

    save_layout(bot, {"main": {"start": [1, 1], "hello": [2, 2], "end": [3, 3]}})
    assert get_build(bot, draft=True).build is first.build

    replace_draft(bot, tiny_bot_doc, base_revision=1)
    changed = get_build(bot, draft=True)
    assert changed.key != first.key
    assert changed.build is not first.build


def test_a_stale_bot_object_still_gets_the_current_draft(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    stale_copy = type(bot).objects.get(pk=bot.pk)
    replace_draft(bot, tiny_bot_doc, base_revision=1)
    assert get_build(stale_copy, draft=True).key == f"{bot.pk}:draft:2"


def test_the_published_build_is_the_latest_version(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    publish(bot)
    second = publish(bot)

    loaded = get_build(bot, draft=False)

    assert loaded.version.number == 2
    assert loaded.key == f"{bot.pk}:v2"
    assert get_version_build(second).build is loaded.build
    assert get_version_build(bot.versions.get(number=1)).key == f"{bot.pk}:v1"
