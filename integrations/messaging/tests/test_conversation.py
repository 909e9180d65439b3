"""The same conversation on every channel, through the channel's real inbound requests and
its API on a local server: one bot, the same replies, so there is one turn path."""
import pytest

from integrations.messaging.models import InboundUpdate
from runtime.models import Conversation, Event

from .conftest import wait_for_replies


def test_a_full_conversation_with_a_capture_a_choice_and_an_image_out(channel):
    driver, api = channel
    assert driver.say("hi").status_code == 200
    assert wait_for_replies(driver, api, 1) == [("text", "What is your name?")]
    assert driver.say("Ada").status_code == 200
    assert wait_for_replies(driver, api, 2)[1] == ("choice", "Which size, Ada?", ["Small", "Large"])
    assert driver.press("Large", "large").status_code == 200
    assert wait_for_replies(driver, api, 4)[2:] == [("text", "A large pizza for Ada."),
                                                    ("image", "https://example.org/large.png")]
    conversation = Conversation.objects.get(bot=driver.bot)
    assert conversation.channel == driver.kind
    assert any(key.startswith(f"{driver.kind}:") for key in conversation.tags)


def test_an_image_in_is_the_bots_image_event(channel):
    driver, api = channel
    assert driver.image().status_code == 200
    assert wait_for_replies(driver, api, 1) == [("text", "Nice picture.")]
    event = Event.objects.get(conversation__bot=driver.bot)
    assert event.type == "image"


def test_a_bad_signature_is_refused_and_nothing_is_stored(channel):
    driver, api = channel
    answer = driver.bad_signature("hi")
    assert answer.status_code == 401
    assert "signature" in answer.json()["error"].lower() or "token" in answer.json()["error"].lower()
    assert not Event.objects.filter(conversation__bot=driver.bot).exists()
    assert not InboundUpdate.objects.exists()
    assert driver.sends(api) == []


def test_a_redelivered_update_is_stored_once(channel):
    driver, api = channel
    update_id = 777001 if driver.kind == "telegram" else "Ev777001"
    assert driver.say("hi", update_id=update_id).status_code == 200
    assert driver.say("hi", update_id=update_id).status_code == 200
    assert wait_for_replies(driver, api, 1) == [("text", "What is your name?")]
    assert Event.objects.filter(conversation__bot=driver.bot).count() == 1


def test_replies_of_one_turn_arrive_in_order(channel):
    driver, api = channel
    driver.say("two")
    assert wait_for_replies(driver, api, 3) == [("text", "first"), ("text", "second"), ("text", "third")]


def test_a_location_in(channel):
    driver, api = channel
    if driver.kind in ("slack", "twilio"):
        pytest.skip("Slack and SMS have no location messages")
    driver.location()
    assert wait_for_replies(driver, api, 1) == [("text", "You are at 48.85.")]
