"""The Inbox pages through Django's test client: what two agents of one workspace see and
what they are refused, and conversations of other workspaces staying out of sight."""
import copy

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from flows import services
from runtime import handoff, turns
from runtime.models import Message
from runtime.tests.bots import handoff_bot
from studio.people import workspaces
from studio.people.models import Membership, Role

pytestmark = pytest.mark.django_db


def user(email, name):
    return get_user_model().objects.create_user(email, email, "a-long-pass-phrase-1", first_name=name)


@pytest.fixture
def desk():
    ann, bob = user("ann@example.com", "Ann"), user("bob@example.com", "Bob")
    workspace = workspaces.create_workspace(ann, "Acme")
    Membership.objects.create(workspace=workspace, user=bob, role=Role.DEVELOPER)
    bot = services.import_bot(copy.deepcopy(handoff_bot()), workspace=workspace)
    services.publish(bot)
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "visitor-1"), channel="webchat")
    turns.send_user_message(conversation, "get me a human")
    clients = {}
    for person in (ann, bob):
        clients[person.first_name] = Client()
        clients[person.first_name].force_login(person)
    return workspace, conversation, clients


def page(client, url):
    response = client.get(url, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_the_queue_shows_the_escalation_and_the_second_taker_is_told_who_has_it(desk):
    workspace, conversation, clients = desk
    base = f"/w/{workspace.slug}/inbox/"
    listing = page(clients["Bob"], base)
    assert "the user asked: get me a human" in listing and "Helpdesk" in listing and "nobody yet" in listing
    clients["Ann"].post(f"{base}{conversation.pk}/assign/")
    shown = clients["Bob"].post(f"{base}{conversation.pk}/assign/", follow=True).content.decode()
    assert "Ann already took this conversation" in shown
    assert "Ann is answering this conversation" in shown
    # Bob cannot speak in Ann's conversation; nothing reaches the user.
    shown = clients["Bob"].post(f"{base}{conversation.pk}/reply/", {"text": "hi from Bob"}, follow=True).content.decode()
    assert "take the conversation before you reply" in shown
    assert not Message.objects.filter(conversation=conversation, payload__text="hi from Bob").exists()
    clients["Ann"].post(f"{base}{conversation.pk}/reply/", {"text": "Ann here"})
    transcript = page(clients["Bob"], f"{base}{conversation.pk}/")
    assert "get me a human" in transcript and "Connecting you with a person." in transcript and "Ann here" in transcript


def test_a_member_can_be_given_the_conversation_and_ending_it_runs_the_goodbye(desk):
    workspace, conversation, clients = desk
    base = f"/w/{workspace.slug}/inbox/{conversation.pk}/"
    bob = get_user_model().objects.get(email="bob@example.com")
    clients["Ann"].post(base + "assign/", {"agent": str(bob.pk)})
    conversation.refresh_from_db()
    assert conversation.handoff_agent == bob
    clients["Bob"].post(base + "end/")
    conversation.refresh_from_db()
    assert conversation.handoff_status == "ended"
    assert Message.objects.filter(conversation=conversation, payload__text="Goodbye!").exists()
    assert "nobody is waiting" in page(clients["Ann"], f"/w/{workspace.slug}/inbox/").lower()


def test_conversations_of_another_workspace_are_not_found(desk):
    workspace, conversation, clients = desk
    carol = user("carol@example.com", "Carol")
    elsewhere = workspaces.create_workspace(carol, "Elsewhere")
    client = Client()
    client.force_login(carol)
    assert client.get(f"/w/{elsewhere.slug}/inbox/{conversation.pk}/").status_code == 404
    assert client.post(f"/w/{elsewhere.slug}/inbox/{conversation.pk}/assign/").status_code == 404
    assert "get me a human" not in page(client, f"/w/{elsewhere.slug}/inbox/")
    conversation.refresh_from_db()
    assert conversation.handoff_status == "waiting"
    with pytest.raises(handoff.HandoffError):
        handoff.send_agent_message(conversation, carol, "sneaky")
