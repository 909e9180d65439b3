"""Schedule triggers on PostgreSQL: the cron is read in the trigger's time zone, each due
time runs once (however many processes claim it at the same moment), a due time missed for
longer than the catch-up window is skipped."""
import threading
from datetime import datetime, timedelta, timezone

import pytest

from runtime import tasks, triggers
from runtime.models import Conversation, Event, Message, ScheduleClaim
from runtime.tests.bots import create_bot

pytestmark = pytest.mark.django_db(transaction=True)

UTC = timezone.utc


@pytest.fixture(autouse=True)
def _pools_closed():
    # The turns ran through the worker loop's async pool: closed before the database goes.
    yield
    from runtime import pg

    pg.close_all()


def schedule_bot(cron, tz="UTC"):
    return {
        "format": "flowstudio.bot/1",
        "name": "Reports",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "hello"},
            {"id": "hello", "kind": "standard", "cards": [{"id": "hi", "type": "text", "text": "hi"}]},
            {"id": "daily", "kind": "trigger", "trigger": {"type": "schedule", "cron": cron, "timezone": tz},
             "next": "report"},
            {"id": "report", "kind": "standard", "cards": [
                {"id": "t", "type": "text", "text": "report for {{event.payload.scheduledFor}}"}]},
        ]}],
    }


def reports(bot):
    return list(Message.objects.filter(conversation__bot=bot, direction="outgoing").order_by("id")
                .values_list("payload__text", flat=True))


def test_a_due_time_runs_its_flow_once_and_the_next_due_time_runs_again():
    bot = create_bot(schedule_bot("*/5 * * * *"))
    now = datetime(2026, 12, 4, 9, 5, 20, tzinfo=UTC)
    started = triggers.fire_due_schedules(now)
    assert len(started) == 1 and started[0].channel == "schedule"
    assert reports(bot) == ["report for 2026-12-04T09:05:00+00:00"]
    assert triggers.fire_due_schedules(now + timedelta(seconds=30)) == []  # same due time: claimed
    assert len(triggers.fire_due_schedules(datetime(2026, 12, 4, 9, 10, 1, tzinfo=UTC))) == 1
    assert reports(bot)[-1] == "report for 2026-12-04T09:10:00+00:00"
    event = Event.objects.filter(conversation__bot=bot).first()
    assert (event.type, event.metadata) == ("schedule", {"trigger": {"flow": "main", "node": "daily"}})


def test_the_cron_is_read_in_the_trigger_time_zone():
    bot = create_bot(schedule_bot("0 9 * * *", "Europe/Paris"))
    # 09:00 in Paris is 08:00 UTC in December: at 09:00 UTC the Paris due time is an hour old.
    assert triggers.fire_due_schedules(datetime(2026, 12, 4, 9, 0, 30, tzinfo=UTC)) == []
    assert len(triggers.fire_due_schedules(datetime(2026, 12, 4, 8, 0, 30, tzinfo=UTC))) == 1
    assert reports(bot) == ["report for 2026-12-04T09:00:00+01:00"]


def test_a_due_time_missed_beyond_the_catch_up_window_is_skipped():
    create_bot(schedule_bot("0 * * * *"))
    late = datetime(2026, 12, 4, 9, 0, tzinfo=UTC) + triggers.SCHEDULE_CATCH_UP + timedelta(seconds=1)
    assert triggers.fire_due_schedules(late) == []
    assert not ScheduleClaim.objects.exists()


def test_two_concurrent_claimers_run_a_due_time_exactly_once():
    bot = create_bot(schedule_bot("*/5 * * * *"))
    now = datetime(2026, 12, 4, 9, 5, 2, tzinfo=UTC)
    barrier = threading.Barrier(4)
    started, errors = [], []

    def claimer():
        from django.db import connections
        try:
            barrier.wait(10)
            started.extend(triggers.fire_due_schedules(now))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(started) == 1
    assert ScheduleClaim.objects.filter(bot=bot).count() == 1
    assert Conversation.objects.filter(bot=bot).count() == 1
    assert reports(bot) == ["report for 2026-12-04T09:05:00+00:00"]


def test_the_beat_task_is_scheduled_and_runs(settings):
    assert "runtime.tasks.fire_due_schedules" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    bot = create_bot(schedule_bot("* * * * *"))
    assert tasks.fire_due_schedules.apply().get() == 1
    assert len(reports(bot)) == 1
