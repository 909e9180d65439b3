import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from flows.botfile.canonical import canonical_bot
from flows.models import Bot, BotVersion, ImmutableRow
from flows.services import (
    BotFileInvalid,
    UnknownVersion,
    export_bot,
    import_bot,
    publish,
    replace_draft,
    restore,
    save_layout,
)

pytestmark = pytest.mark.django_db


def test_versions_are_numbered_one_two_three(workspace, tiny_bot_doc, django_user_model):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    alice = django_user_model.objects.create_user("alice")

    numbers = [publish(bot, user=alice, note=f"take {n}").number for n in range(3)]

    assert numbers == [1, 2, 3]
    third = bot.versions.get(number=3)
    assert (third.author, third.note) == (alice, "take 2")
    assert third.definition == canonical_bot(export_bot(bot))  # the export leaves defaults out


def test_numbering_is_per_bot(workspace, tiny_bot_doc):
    first = import_bot(tiny_bot_doc, workspace=workspace)
    second = import_bot(tiny_bot_doc, workspace=workspace)
    publish(first)
    publish(first)
    assert publish(second).number == 1


def test_an_invalid_draft_is_not_published(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    # A draft can become invalid when the validator learns a new rule after it was saved.
    broken = dict(bot.draft, flows=[])
    Bot.objects.filter(pk=bot.pk).update(draft=broken)

    with pytest.raises(BotFileInvalid):
        publish(bot)

    assert not BotVersion.objects.filter(bot=bot).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_never_share_a_number(workspace, tiny_bot_doc):
    assert connection.vendor == "postgresql", "run with DATABASE_URL set: this test needs real row locks"
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    start = threading.Barrier(4)
    numbers, errors = [], []

    def publish_at_once():
        try:
            start.wait()
            numbers.append(publish(Bot.objects.get(pk=bot.pk)).number)
        except Exception as exc:  # collected and asserted below, so a failure names itself
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=publish_at_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(numbers) == [1, 2, 3, 4]


def test_restore_copies_a_version_into_the_draft(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    published = publish(bot).definition
    edited = export_bot(bot)
    edited["name"] = "Renamed"
    edited["layout"]["main"]["hello"] = [999, 999]
    replace_draft(bot, edited, base_revision=1)

    restore(bot, 1)

    bot.refresh_from_db()
    assert bot.draft_revision == 3
    assert bot.name == "Tiny"
    assert canonical_bot(export_bot(bot)) == published


def test_restoring_a_missing_version_says_which(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    with pytest.raises(UnknownVersion, match="no version 7"):
        restore(bot, 7)
    bot.refresh_from_db()
    assert bot.draft_revision == 1


def test_saving_the_layout_does_not_bump_the_revision(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    layout = {"main": {"start": [10, 10], "hello": [300, 40], "end": [600, 40]}}

    save_layout(bot, layout)

    bot.refresh_from_db()
    assert bot.draft_revision == 1
    assert bot.layout == layout


def test_a_layout_for_a_missing_node_is_refused(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    before = bot.layout

    with pytest.raises(BotFileInvalid) as caught:
        save_layout(bot, {"main": {"ghost": [0, 0]}})

    assert any(problem.path.startswith("$.layout") for problem in caught.value.problems)
    bot.refresh_from_db()
    assert bot.layout == before


def test_a_published_version_cannot_be_changed(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    version = publish(bot, note="original")

    version.note = "rewritten"
    with pytest.raises(ImmutableRow):
        version.save()
    with pytest.raises(ImmutableRow):
        BotVersion.objects.filter(pk=version.pk).update(note="rewritten")
    # The database refuses too, for code that goes around the model.
    with pytest.raises(DatabaseError, match="immutable"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE flows_botversion SET note = 'rewritten' WHERE id = %s", [version.pk])

    assert BotVersion.objects.get(pk=version.pk).note == "original"


def test_deleting_the_author_keeps_the_version_and_forgets_who_published_it(workspace, tiny_bot_doc):
    from django.contrib.auth import get_user_model

    author = get_user_model().objects.create_user("ann", "ann@example.com", "pw-123456789")
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    version = publish(bot, note="by ann", user=author)

    author.delete()

    kept = BotVersion.objects.get(pk=version.pk)
    assert (kept.author_id, kept.note, kept.definition) == (None, "by ann", version.definition)
    # Forgetting the author is the only change allowed: the rest stays frozen for the database too.
    with pytest.raises(DatabaseError, match="immutable"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE flows_botversion SET author_id = NULL, note = 'x' WHERE id = %s", [version.pk])


def test_deleting_a_bot_deletes_its_versions(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    publish(bot)
    bot.delete()
    assert not BotVersion.objects.exists()
