"""The turn service as a channel sees it: store, process, persist, pin, fail safely."""
from datetime import timedelta

import pytest
from django.utils import timezone

from flows import services
from runtime import turns
from runtime.models import BotVariable, Conversation, EndUser, Event, Message
from runtime.tests.bots import create_bot, echo_bot, replace_and_publish, two_step_bot, variables_bot

pytestmark = pytest.mark.django_db


def texts(outcome):
    return [output["text"] for output in outcome.outputs]


def start(bot, *, draft=False, user_id=None):
    return turns.start_conversation(bot, turns.get_or_create_user(bot, user_id), draft=draft)


def test_a_message_is_stored_then_answered_in_seq_order():
    bot = create_bot(echo_bot())
    conversation = start(bot)

    first = turns.send_user_message(conversation, "hello")
    second = turns.send_user_message(conversation, "again")

    assert texts(first) == ["got hello"]
    assert texts(second) == ["got again"]
    transcript = [(m.seq, m.direction, m.as_output().get("text"))
                  for m in Message.objects.filter(conversation=conversation).order_by("seq")]
    assert transcript == [
        (1, "incoming", "hello"), (2, "outgoing", "got hello"),
        (3, "incoming", "again"), (4, "outgoing", "got again"),
    ]
    assert list(Event.objects.filter(conversation=conversation).values_list("seq", "status")) == [
        (1, "processed"), (3, "processed"),
    ]


def test_receive_only_stores_and_process_pending_runs_the_backlog_in_order():
    bot = create_bot(echo_bot())
    conversation = start(bot)

    events = [turns.receive_event(conversation, "text", {"text": f"m{i}"}) for i in range(3)]
    assert [e.status for e in events] == ["received"] * 3
    assert not Message.objects.filter(direction="outgoing").exists()

    outcomes = turns.process_pending(conversation.pk)
    assert [texts(o) for o in outcomes] == [["got m0"], ["got m1"], ["got m2"]]
    assert turns.process_pending(conversation.pk) == []


def test_bad_event_input_is_refused_with_a_clear_error():
    bot = create_bot(echo_bot())
    conversation = start(bot)
    with pytest.raises(ValueError, match="'text' field"):
        turns.receive_event(conversation, "text", {"txt": "typo"})
    with pytest.raises(ValueError, match="must be an object"):
        turns.receive_event(conversation, "text", "hello")
    assert not Event.objects.exists()


def test_an_engine_crash_keeps_the_event_marks_it_failed_and_leaves_state_alone(monkeypatch):
    bot = create_bot(echo_bot())
    conversation = start(bot)
    turns.send_user_message(conversation, "one")
    conversation.refresh_from_db()
    state_before, next_seq_before = conversation.state, conversation.next_seq
    user_vars_before = EndUser.objects.get(pk=conversation.user_id).variables

    def crash(build, turn_input):
        raise RuntimeError("engine bug")

    monkeypatch.setattr(turns, "run_turn", crash)
    outcome = turns.send_user_message(conversation, "two")

    # Nothing of the turn is kept but the failure, and the fallback message for the visitor.
    assert outcome.failed and "engine bug" in outcome.error
    assert outcome.outputs == [{"type": "text", "text": "Sorry, something went wrong."}]
    event = Event.objects.get(pk=outcome.event.pk)
    assert (event.status, event.error) == ("failed", "RuntimeError: engine bug")
    conversation.refresh_from_db()
    assert conversation.state == state_before
    assert conversation.next_seq == next_seq_before + 2  # the incoming event and the fallback
    assert EndUser.objects.get(pk=conversation.user_id).variables == user_vars_before

    monkeypatch.undo()
    assert texts(turns.send_user_message(conversation, "three")) == ["got three"]


def test_a_write_that_fails_half_way_rolls_back_the_whole_turn(monkeypatch):
    """Messages are written before the variables; a bad variable value must take them back out."""
    bot = create_bot(echo_bot())
    conversation = start(bot)
    turns.send_user_message(conversation, "one")
    real_run_turn = turns.run_turn

    def unstorable_bot_change(build, turn_input):
        result = real_run_turn(build, turn_input)
        result.bot_changes["total"] = object()  # not JSON: the upsert raises after messages exist
        return result

    monkeypatch.setattr(turns, "run_turn", unstorable_bot_change)
    outcome = turns.send_user_message(conversation, "two")

    assert outcome.failed
    assert [m.payload["text"] for m in Message.objects.filter(event=outcome.event, direction="outgoing")] == [
        "Sorry, something went wrong."]  # the fallback only: the turn's own reply was rolled back
    assert EndUser.objects.get(pk=conversation.user_id).variables["seen"] == ["one"]
    assert BotVariable.objects.get(bot=bot, name="total").value == 1


def test_a_published_conversation_of_an_unpublished_bot_fails_clearly():
    bot = create_bot(echo_bot(), publish=False)
    conversation = start(bot)
    outcome = turns.send_user_message(conversation, "hi")
    assert outcome.failed and "no published version" in outcome.error
    assert Event.objects.get(pk=outcome.event.pk).status == "failed"


def test_draft_conversations_run_the_draft_and_published_ones_the_latest_version():
    bot = create_bot(two_step_bot(label="v1"))
    services.replace_draft(bot, two_step_bot(label="draft"), base_revision=None)

    assert texts(turns.send_user_message(start(bot, draft=True), "hi")) == ["draft: hello"]
    assert texts(turns.send_user_message(start(bot), "hi")) == ["v1: hello"]


def test_a_dialog_stays_on_its_version_and_the_next_dialog_takes_the_latest():
    bot = create_bot(two_step_bot(label="v1"))
    conversation = start(bot)
    assert texts(turns.send_user_message(conversation, "hi")) == ["v1: hello"]
    conversation.refresh_from_db()
    assert conversation.version.number == 1

    replace_and_publish(bot, two_step_bot(label="v2"))

    assert texts(turns.send_user_message(conversation, "pizza")) == ["v1: you said pizza"]
    conversation.refresh_from_db()
    assert conversation.version is None  # the dialog ended: nothing pins it any more
    assert texts(turns.send_user_message(conversation, "hi again")) == ["v2: hello"]
    conversation.refresh_from_db()
    assert conversation.version.number == 2


def test_user_variables_follow_the_user_and_bot_variables_are_shared():
    bot = create_bot(variables_bot())
    alice_1 = start(bot, user_id="alice")
    assert texts(turns.send_user_message(alice_1, "a")) == ["visits=1 hits=1"]
    alice_2 = start(bot, user_id="alice")
    assert texts(turns.send_user_message(alice_2, "b")) == ["visits=2 hits=2"]
    bob = start(bot, user_id="bob")
    assert texts(turns.send_user_message(bob, "c")) == ["visits=1 hits=3"]

    assert EndUser.objects.get(bot=bot, external_id="alice").variables["visits"] == 2
    assert dict(BotVariable.objects.filter(bot=bot, is_draft=False).values_list("name", "value")) == {
        "hits": 3, "last": "c",
    }
    # The emulator's draft keeps its own bot variables, apart from production's.
    assert texts(turns.send_user_message(start(bot, draft=True, user_id="alice"), "d")) == ["visits=3 hits=1"]
    assert BotVariable.objects.get(bot=bot, is_draft=False, name="hits").value == 3


def test_a_turn_writes_only_the_bot_variables_it_changed():
    bot = create_bot(variables_bot())
    # Written by someone else after this bot's turn read its variables would be lost if the
    # turn wrote back the whole set; it writes only hits and last.
    BotVariable.objects.create(bot=bot, is_draft=False, name="other", value="kept")
    turns.send_user_message(start(bot), "x")
    assert BotVariable.objects.get(bot=bot, is_draft=False, name="other").value == "kept"


def test_an_active_dialog_gets_a_timeout_and_an_ended_one_does_not():
    bot = create_bot(two_step_bot())
    conversation = start(bot)
    before = timezone.now()
    turns.send_user_message(conversation, "hi")
    conversation.refresh_from_db()
    assert before + timedelta(minutes=30) <= conversation.timeout_at <= timezone.now() + timedelta(minutes=30)
    assert conversation.last_user_event_at >= before

    turns.send_user_message(conversation, "bye")
    conversation.refresh_from_db()
    assert conversation.timeout_at is None


def test_a_zero_inactivity_timeout_never_schedules_one():
    bot = create_bot(echo_bot(timeout_minutes=0))
    conversation = start(bot)
    turns.send_user_message(conversation, "hi")
    conversation.refresh_from_db()
    assert conversation.state.get("frames")
    assert conversation.timeout_at is None


def test_firing_the_timeout_runs_the_timeout_flow_and_clears_the_dialog():
    bot = create_bot(echo_bot())
    conversation = start(bot)
    turns.send_user_message(conversation, "one")

    outcome = turns.fire_timeout(conversation)

    assert texts(outcome) == ["Are you still there? Starting over."]
    conversation.refresh_from_db()
    assert not conversation.state.get("frames")
    assert conversation.timeout_at is None and conversation.version is None
    assert not Message.objects.filter(event=outcome.event, direction="incoming").exists()
    # The next message starts a new dialog at main/start.
    assert texts(turns.send_user_message(conversation, "two")) == ["got two"]


def test_conversations_get_unique_ids_and_users_are_reused_by_external_id():
    bot = create_bot(echo_bot())
    user = turns.get_or_create_user(bot, "u-1")
    assert turns.get_or_create_user(bot, "u-1").pk == user.pk
    a = turns.start_conversation(bot, user)
    b = turns.start_conversation(bot, user, draft=True)
    assert a.external_id != b.external_id
    assert (a.channel, b.channel) == ("api", "emulator")
    assert Conversation.objects.filter(user=user).count() == 2
