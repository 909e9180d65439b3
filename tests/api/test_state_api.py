"""The state API of seed 001 over HTTP: get, set, getOrSet, list, delete in the four scopes,
and expiry in seconds firing `state_expired` into the conversation through the turn service
when the Celery beat task runs."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from runtime import tasks
from runtime.models import Event, State

pytestmark = pytest.mark.django_db


def _states(world, scope="conversation", scope_id="conv-1"):
    return f"/api/v1/bots/{world.bot.pk}/states/{scope}/{scope_id}"


def test_set_get_list_and_delete(world, owner_client):
    url = _states(world)
    created = owner_client.post(f"{url}/preferences", {"payload": {"language": "en"}}, format="json")
    assert created.status_code == 200
    state = created.json()["state"]
    assert (state["type"], state["id"], state["name"], state["payload"]) == \
        ("conversation", "conv-1", "preferences", {"language": "en"})
    assert state["expiresAt"] is None and state["expiry"] is None

    owner_client.post(f"{url}/preferences", {"payload": {"language": "es"}}, format="json")
    assert owner_client.get(f"{url}/preferences").json()["state"]["payload"] == {"language": "es"}
    assert [s["name"] for s in owner_client.get(url).json()["states"]] == ["context", "preferences"]

    assert owner_client.delete(f"{url}/preferences").status_code == 204
    missing = owner_client.get(f"{url}/preferences")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert owner_client.delete(f"{url}/preferences").status_code == 404


def test_get_or_set_keeps_an_existing_state(world, owner_client):
    url = f"{_states(world, 'user', 'visitor-1')}/profile"
    first = owner_client.post(f"{url}/get-or-set", {"payload": {"name": "Ann"}}, format="json")
    assert first.status_code == 201 and first.json()["state"]["payload"] == {"name": "Ann"}
    second = owner_client.post(f"{url}/get-or-set", {"payload": {"name": "Bob"}}, format="json")
    assert second.status_code == 200 and second.json()["state"]["payload"] == {"name": "Ann"}


def test_the_four_scopes_and_their_ids(world, owner_client):
    bot_id = str(world.bot.pk)
    assert owner_client.post(f"{_states(world, 'bot', bot_id)}/config", {"payload": {"v": 1}},
                             format="json").status_code == 200
    assert owner_client.post(f"{_states(world, 'workflow', 'wf-42')}/progress", {"payload": {"step": 3}},
                             format="json").status_code == 200
    # A bot state belongs to this bot's id; unknown conversations and users do not exist.
    assert owner_client.get(_states(world, "bot", "someone-else")).status_code == 404
    assert owner_client.post(f"{_states(world, 'conversation', 'nope')}/x", {"payload": {}},
                             format="json").status_code == 404
    assert owner_client.post(f"{_states(world, 'user', 'nobody')}/x", {"payload": {}}, format="json").status_code == 404
    assert owner_client.get(_states(world, "integration", "x")).status_code == 404
    # The same name in two scopes is two states.
    assert owner_client.get(f"{_states(world, 'workflow', 'wf-42')}/progress").json()["state"]["payload"] == {"step": 3}


@pytest.mark.parametrize("body,path,status", [
    ({"payload": [1, 2]}, "$.payload", 400),
    ({}, "$.payload", 400),
    ({"payload": {}, "expiry": 0}, "$.expiry", 400),
    ({"payload": {}, "expiry": "soon"}, "$.expiry", 400),
    ({"payload": {"big": "x" * (130 * 1024)}}, "$.payload", 413),
])
def test_bad_writes_name_the_field(world, owner_client, body, path, status):
    response = owner_client.post(f"{_states(world)}/bad", body, format="json")
    assert response.status_code == status
    assert response.json()["error"]["details"][0]["path"] == path
    assert not State.objects.filter(name="bad").exists()


def test_a_bad_state_name_is_refused(world, owner_client):
    response = owner_client.post(f"{_states(world)}/has%20space", {"payload": {}}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["path"] == "$path.name"


def _expire_now(name):
    State.objects.filter(name=name).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_expiry_fires_state_expired_into_the_conversation_through_the_beat_task(world, owner_client):
    url = f"{_states(world)}/session"
    state = owner_client.post(url, {"payload": {"cart": ["tea"]}, "expiry": 3600}, format="json").json()["state"]
    assert state["expiry"] == 3600
    assert state["expiresAt"] > state["updatedAt"]
    assert tasks.fire_due_states.apply().get() == 0  # nothing due yet

    _expire_now("session")
    # Expired states are gone for readers at once, before the task has run.
    assert owner_client.get(url).status_code == 404
    assert "session" not in [s["name"] for s in owner_client.get(_states(world)).json()["states"]]

    assert tasks.fire_due_states.apply().get() == 1
    event = Event.objects.get(conversation=world.conversation, type="state_expired")
    assert event.status == Event.Status.PROCESSED  # went through the turn service
    assert event.payload["state"]["name"] == "session"
    assert event.payload["state"]["payload"] == {"cart": ["tea"]}
    assert event.payload["state"]["type"] == "conversation" and event.payload["state"]["id"] == "conv-1"
    assert not State.objects.filter(name="session").exists()
    assert tasks.fire_due_states.apply().get() == 0  # fired once


def test_user_state_expiry_goes_to_the_users_latest_conversation(world, owner_client):
    owner_client.post(f"{_states(world, 'user', 'visitor-1')}/profile", {"payload": {"a": 1}, "expiry": 60},
                      format="json")
    _expire_now("profile")
    tasks.fire_due_states()
    assert Event.objects.filter(conversation=world.conversation, type="state_expired",
                                payload__state__name="profile").exists()


def test_workflow_state_expiry_goes_to_the_conversation_named_when_written(world, owner_client):
    url = f"{_states(world, 'workflow', 'wf-1')}/progress"
    missing = owner_client.post(url, {"payload": {}, "expiry": 60, "conversationId": "nope"}, format="json")
    assert missing.status_code == 404
    owner_client.post(url, {"payload": {"step": 2}, "expiry": 60, "conversationId": "conv-1"}, format="json")
    _expire_now("progress")
    assert tasks.fire_due_states() == 1
    assert Event.objects.filter(conversation=world.conversation, payload__state__id="wf-1").exists()


def test_a_bot_state_without_a_conversation_just_expires(world, owner_client):
    owner_client.post(f"{_states(world, 'bot', str(world.bot.pk))}/cache", {"payload": {}, "expiry": 1}, format="json")
    _expire_now("cache")
    assert tasks.fire_due_states() == 1
    assert not State.objects.filter(name="cache").exists()
    assert not Event.objects.filter(type="state_expired").exists()


def test_overwriting_an_expired_state_fires_its_expiry_first(world, owner_client):
    url = f"{_states(world)}/session"
    owner_client.post(url, {"payload": {"old": True}, "expiry": 60}, format="json")
    _expire_now("session")
    created = owner_client.post(f"{url}/get-or-set", {"payload": {"new": True}}, format="json")
    assert created.status_code == 201 and created.json()["state"]["payload"] == {"new": True}
    event = Event.objects.get(type="state_expired")
    assert event.payload["state"]["payload"] == {"old": True}
    assert tasks.fire_due_states() == 0


def test_a_set_restarts_the_expiry(world, owner_client):
    url = f"{_states(world)}/session"
    owner_client.post(url, {"payload": {}, "expiry": 60}, format="json")
    first = State.objects.get(name="session").expires_at
    owner_client.post(url, {"payload": {}, "expiry": 600}, format="json")
    assert State.objects.get(name="session").expires_at > first + timedelta(seconds=500)
    owner_client.post(url, {"payload": {}}, format="json")
    assert State.objects.get(name="session").expires_at is None


def test_deleting_a_conversation_deletes_its_states(world, owner_client):
    assert owner_client.delete(f"/api/v1/bots/{world.bot.pk}/conversations/conv-1").status_code == 204
    assert not State.objects.filter(type="conversation", scope_id="conv-1").exists()


def test_the_beat_schedule_runs_the_expiry_task():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "runtime.tasks.fire_due_states" in tasks_scheduled
