"""Issues are folded when errors are stored (runtime/issues.py): the fold after a turn never
waits for a scan another process holds (it leaves the error to that fold or the beat's), and
nothing is counted twice when the two meet."""
import threading
import time

import pytest
from django.db import connection, transaction

from runtime import issues, turns
from runtime.models import Issue, IssueScan
from runtime.tests.bots import create_bot, echo_bot

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")]


def throwing_bot():
    """Echoes; a message with "order N" makes its code card throw (a bot error)."""
    definition = echo_bot("Orders")
    definition["flows"][0]["nodes"][1]["cards"][0]["code"] += (
        'const m = /order (\\d+)/.exec(event.preview); if (m) throw new Error("order " + m[1] + " not found");')
    return definition


def test_a_turn_does_not_wait_for_a_fold_in_progress_and_the_next_fold_counts_it_once():
    bot = create_bot(throwing_bot())
    IssueScan.objects.get_or_create(bot=bot)
    locked, release = threading.Event(), threading.Event()

    def another_fold():  # holds the bot's scan row as a running fold does
        try:
            with transaction.atomic():
                IssueScan.objects.select_for_update().get(bot=bot)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=another_fold)
    holder.start()
    try:
        assert locked.wait(10)
        conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ann"))
        started = time.monotonic()
        turns.send_user_message(conversation, "order 7")  # its error's fold finds the row locked
        assert time.monotonic() - started < 10  # it did not wait the 30 s the lock is held
        assert not Issue.objects.filter(bot=bot).exists()
    finally:
        release.set()
        holder.join()
    assert issues.fold_all() == 1  # the beat's fold reads it
    assert issues.fold_all() == 0
    assert Issue.objects.get(bot=bot).count == 1
