"""Human handoff on PostgreSQL: the Escalate card hands the conversation to people, the bot
stays silent while they answer, two agents cannot both take it, and handing it back (or
ending it) gives the conversation back to the bot."""
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import close_old_connections, connection

from runtime import delivery, handoff, turns
from runtime.models import Conversation, Event, Message
from runtime.tests.bots import create_bot, echo_bot, handoff_bot
from runtime.tests.server_loop import close_pools

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _close_loop_pools():
    yield
    close_pools()  # the worker loop's async pool (runtime.tasks), before the test database goes


def texts(outcome):
    return [o.get("text") for o in outcome.outputs]


@pytest.fixture
def agents(db):
    User = get_user_model()
    return [User.objects.create_user(f"agent{i}@example.com", f"agent{i}@example.com", first_name=f"Agent{i}")
            for i in (1, 2)]


@pytest.fixture
def escalated():
    bot = create_bot(handoff_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot), channel="webchat")
    assert texts(turns.send_user_message(conversation, "hello")) == ["bot: hello"]
    assert texts(turns.send_user_message(conversation, "a human please")) == ["Connecting you with a person."]
    conversation.refresh_from_db()
    return conversation


def test_the_escalate_card_puts_the_conversation_in_the_inbox(escalated):
    assert escalated.handoff_status == Conversation.Handoff.WAITING
    assert (escalated.handoff_reason, escalated.handoff_priority) == ("the user asked: a human please", "high")
    assert escalated.handoff_requested_at is not None and escalated.timeout_at is None
    assert list(handoff.inbox([escalated.bot_id])) == [escalated]


def test_the_bot_is_silent_while_people_handle_the_conversation(escalated, agents):
    outcome = turns.send_user_message(escalated, "is anyone there?")
    assert outcome.outputs == [] and not outcome.failed
    assert outcome.event.trace[0]["type"] == "handoff"
    handoff.assign(escalated, agents[0])
    assert turns.send_user_message(escalated, "hello agent").outputs == []
    # What the user said is in the transcript the agent reads.
    said = [m.payload.get("text") for m in handoff.transcript(escalated) if m.direction == "incoming"]
    assert said[-2:] == ["is anyone there?", "hello agent"]


def test_an_agent_replies_through_the_conversation(escalated, agents, django_capture_on_commit_callbacks):
    delivered = []
    subscriber = delivery.subscribe(lambda conversation, messages: delivered.extend(messages))
    try:
        with pytest.raises(handoff.HandoffError, match="take the conversation"):
            handoff.send_agent_message(escalated, agents[0], "hi")
        handoff.assign(escalated, agents[0])
        with django_capture_on_commit_callbacks(execute=True):
            message = handoff.send_agent_message(escalated, agents[0], "Hi, I am Agent1. How can I help?")
    finally:
        delivery.unsubscribe(subscriber)
    stored = Message.objects.get(pk=message.pk)
    assert (stored.direction, stored.type, stored.payload) == ("outgoing", "text", {"text": "Hi, I am Agent1. How can I help?"})
    assert stored.metadata["agent"]["name"] == "Agent1"
    assert handoff.is_agent_message(stored)
    assert message.pk in [m.pk for m in delivered]
    with pytest.raises(handoff.HandoffError, match="take the conversation"):
        handoff.send_agent_message(escalated, agents[1], "me too")


@pytest.mark.parametrize("text, says", [("a\x00b", "NUL character"), ("x\ud800y", "lone surrogate")])
def test_an_agent_message_postgresql_cannot_store_is_refused_with_the_reason(escalated, agents, text, says):
    handoff.assign(escalated, agents[0])
    before = Message.objects.filter(conversation=escalated).count()
    with pytest.raises(handoff.HandoffError, match=f"cannot be sent: .*{says}"):
        handoff.send_agent_message(escalated, agents[0], text)
    assert Message.objects.filter(conversation=escalated).count() == before


def test_handing_back_the_bot_goes_on_after_the_escalate_card(escalated, agents):
    handoff.assign(escalated, agents[0])
    outcomes = handoff.hand_back(escalated, agents[0])
    assert [t for o in outcomes for t in texts(o)] == ["Back with the bot."]
    escalated.refresh_from_db()
    assert escalated.handoff_status == Conversation.Handoff.BOT and escalated.handoff_ended_at is not None
    assert texts(turns.send_user_message(escalated, "thanks")) == ["bot: thanks"]
    assert list(handoff.inbox([escalated.bot_id])) == []
    with pytest.raises(handoff.HandoffError):
        handoff.hand_back(escalated)


def test_ending_runs_the_conversation_end_flow_and_a_new_message_starts_over(escalated, agents):
    handoff.assign(escalated, agents[0])
    outcomes = handoff.end(escalated, agents[0])
    assert [t for o in outcomes for t in texts(o)] == ["Goodbye!"]
    escalated.refresh_from_db()
    assert escalated.handoff_status == Conversation.Handoff.ENDED
    assert escalated.state["frames"] == []
    assert texts(turns.send_user_message(escalated, "hello again")) == ["bot: hello again"]
    escalated.refresh_from_db()
    assert escalated.handoff_status == Conversation.Handoff.BOT


def test_a_taken_conversation_cannot_be_taken_by_another_agent(escalated, agents):
    handoff.assign(escalated, agents[0])
    with pytest.raises(handoff.HandoffError, match="Agent1 already took"):
        handoff.assign(escalated, agents[1])
    handoff.assign(escalated, agents[1], reassign=True)  # assign to a member
    escalated.refresh_from_db()
    assert escalated.handoff_agent == agents[1]


def test_the_inbox_lists_waiting_first_then_urgent_first_then_oldest():
    bot = create_bot(echo_bot())
    made = []
    for priority in ("normal", "urgent", "low", "urgent"):
        conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
        made.append(handoff.escalate(conversation, reason=priority, priority=priority))
    User = get_user_model()
    handoff.assign(made[1], User.objects.create_user("a@example.com", "a@example.com"))
    assert [c.pk for c in handoff.inbox([bot.pk])] == [made[3].pk, made[0].pk, made[2].pk, made[1].pk]
    assert [c.pk for c in handoff.inbox([bot.pk], status="with_agent")] == [made[1].pk]
    with pytest.raises(handoff.HandoffError, match="priority must be one of"):
        handoff.escalate(turns.start_conversation(bot, turns.get_or_create_user(bot)), priority="asap")
    with pytest.raises(handoff.HandoffError, match="already handed"):
        handoff.escalate(made[0])


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_assigns_give_the_conversation_to_one_agent(agents):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks across connections")
    bot = create_bot(echo_bot())
    conversation = handoff.escalate(turns.start_conversation(bot, turns.get_or_create_user(bot)))
    barrier = threading.Barrier(2)
    results = {}

    def take(agent):
        try:
            barrier.wait()
            handoff.assign(Conversation.objects.get(pk=conversation.pk), agent)
            results[agent.pk] = "took"
        except handoff.HandoffError as exc:
            results[agent.pk] = str(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=take, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values(), key=len)[0] == "took"
    assert list(results.values()).count("took") == 1
    assert [v for v in results.values() if v != "took"][0].endswith("already took this conversation")
    conversation.refresh_from_db()
    assert results[conversation.handoff_agent_id] == "took"


@pytest.mark.django_db(transaction=True)
def test_on_the_async_executor_the_bot_is_silent_too_and_answers_after_hand_back(agents):
    """Outside a test transaction turns on PostgreSQL run on runtime/async_turns.py."""
    if connection.vendor != "postgresql":
        pytest.skip("the async executor is PostgreSQL's")
    from runtime import tasks
    bot = create_bot(handoff_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))

    def say(text):
        turns.receive_event(conversation, "text", {"text": text})
        return [t for o in tasks.process_pending(conversation.pk) for t in texts(o)]

    assert say("a human") == ["Connecting you with a person."]
    assert say("hello?") == []
    assert Event.objects.filter(conversation=conversation).order_by("-seq")[0].trace[0]["type"] == "handoff"
    handoff.assign(conversation, agents[0])
    assert [t for o in handoff.hand_back(conversation) for t in texts(o)] == ["Back with the bot."]
    assert say("ok") == ["bot: ok"]


def test_an_external_desks_reply_takes_a_waiting_conversation_unless_a_member_has_it(escalated, agents,
                                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = handoff.send_desk_message(escalated, "Hello from the desk", desk="chatwoot", agent_id="7",
                                            name="Ann Agent")
    escalated.refresh_from_db()
    assert escalated.handoff_status == Conversation.Handoff.WITH_AGENT and escalated.handoff_agent is None
    assert message.metadata["agent"] == {"id": "chatwoot:7", "name": "Ann Agent", "avatarUrl": None, "desk": "chatwoot"}
    assert handoff.is_agent_message(message)
    with pytest.raises(handoff.HandoffError, match="empty"):
        handoff.send_desk_message(escalated, "  ", desk="chatwoot", agent_id="7", name="Ann Agent")
    handoff.assign(escalated, agents[0], reassign=True)
    with pytest.raises(handoff.HandoffError, match="took this conversation in the studio"):
        handoff.send_desk_message(escalated, "me again", desk="chatwoot", agent_id="7", name="Ann Agent")
    handoff.hand_back(escalated)
    with pytest.raises(handoff.HandoffError, match="not with people"):
        handoff.send_desk_message(escalated, "too late", desk="chatwoot", agent_id="7", name="Ann Agent")
