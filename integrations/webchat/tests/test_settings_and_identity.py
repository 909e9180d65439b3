"""Webchat settings (checked field by field, nothing half-saved), allowed origins, user keys
and identities signed by the host site."""
import hashlib
import hmac
import time

import jwt
import pytest

from integrations.webchat import configuration, identity, origins, services
from integrations.webchat.models import WebchatSettings
from runtime.tests.bots import echo_bot

from .helpers import ORIGIN, create_bot

pytestmark = pytest.mark.django_db


# --- settings -------------------------------------------------------------------------------

def test_bad_settings_name_every_field_and_save_nothing():
    bot = create_bot(echo_bot(), bot_name="Helper")
    with pytest.raises(configuration.SettingsInvalid) as caught:
        services.update_settings(bot, {
            "bot_name": "Renamed", "primary_color": "blue", "theme": "neon", "avatar_url": "javascript:alert(1)",
            "allowed_origins": "https://ok.example.com\nftp://files.example.com\nhttps://x.example.com/path",
            "max_upload_mb": 99, "upload_types": ["image/*", "exe"], "email": "nope", "colour": "#000000",
        })
    assert caught.value.errors == {
        "primary_color": "'blue' must be a hex colour like #3276EA",
        "theme": "'neon' must be one of light, dark",
        "avatar_url": "'javascript:alert(1)' must be an http:// or https:// address",
        "allowed_origins": "'ftp://files.example.com' must start with http:// or https://; "
                           "'https://x.example.com/path' is not an origin: give only scheme, host and port, no path",
        "max_upload_mb": "must be between 1 and 25 MB (got 99)",
        "upload_types": "'exe': each entry must be a media type like image/png or image/*",
        "email": "'nope' is not an email address",
        "colour": "is not a webchat setting",
    }
    assert WebchatSettings.objects.get(bot=bot).bot_name == "Helper"


def test_settings_are_normalised_and_the_page_never_sees_origins_or_the_secret():
    bot = create_bot(echo_bot())
    services.update_settings(bot, {
        "allowed_origins": ["HTTPS://Shop.Example.com:443/", "http://localhost:3000", "https://shop.example.com"],
        "primary_color": "#aabbcc", "email": "help@example.com", "phone": "+33 1 23 45 67 89",
        "show_button": "off", "storage": "sessionStorage", "custom_css": ".bpFab { right: 40px; }",
    })
    services.generate_identity_secret(bot)
    current = services.get_settings(bot)
    assert current.allowed_origins == ["https://shop.example.com", "http://localhost:3000"]
    page = configuration.widget_configuration(current)
    assert page["color"] == "#AABBCC" and page["showButton"] is False and page["storageLocation"] == "sessionStorage"
    assert page["botName"] == "Echo" and page["composerPlaceholder"] == "Type your message..."
    assert page["email"] == {"title": "help@example.com", "link": "mailto:help@example.com"}
    assert page["phone"] == {"title": "+33 1 23 45 67 89", "link": "tel:+33123456789"}
    assert page["additionalStylesheet"] == ".bpFab { right: 40px; }"
    text = repr(page)
    assert "localhost:3000" not in text and current.identity_secret not in text


def test_the_identity_secret_is_encrypted_at_rest():
    bot = create_bot(echo_bot())
    secret = services.generate_identity_secret(bot)
    stored = WebchatSettings.objects.get(bot=bot)
    assert secret not in stored.encrypted_identity_secret and len(secret) >= 40
    assert stored.identity_secret == secret
    assert secret not in repr(stored) and secret not in str(stored)
    assert services.generate_identity_secret(bot) != secret


# --- origins --------------------------------------------------------------------------------

@pytest.mark.parametrize("allowed, origin, ok", [
    ([], "https://anything.example", True),
    ([], None, True),
    (["https://shop.example.com"], "https://shop.example.com", True),
    (["https://shop.example.com"], "https://shop.example.com:443", True),
    (["https://shop.example.com"], "http://shop.example.com", False),
    (["https://shop.example.com"], "https://shop.example.com.evil.net", False),
    (["https://*.example.com"], "https://a.b.example.com", True),
    (["https://*.example.com"], "https://example.com", False),
    (["https://*.example.com"], "https://evilexample.com", False),
    (["http://localhost:3000"], "http://localhost:3001", False),
    (["https://shop.example.com"], None, False),
    (["https://shop.example.com"], "null", False),
])
def test_origin_matching(allowed, origin, ok):
    assert origins.is_allowed(allowed, origin) is ok


def test_the_studio_itself_is_always_allowed():
    assert origins.is_allowed(["https://shop.example.com"], "http://127.0.0.1:8000", own_host="127.0.0.1:8000")


# --- user keys and identities ---------------------------------------------------------------

def test_user_keys_are_signed_per_bot():
    key = identity.user_key("bot-a", "u1")
    assert identity.external_id_from_key("bot-a", key) == "u1"
    assert identity.external_id_from_key("bot-b", key) is None
    assert identity.external_id_from_key("bot-a", key[:-2] + "xx") is None
    assert identity.external_id_from_key("bot-a", None) is None


def test_hmac_and_jwt_identities():
    secret = "s3cret"
    digest = hmac.new(secret.encode(), b"customer-42", hashlib.sha256).hexdigest()
    assert identity.verify(secret, {"userId": "customer-42", "userHash": digest}).external_id == "verified:customer-42"
    token = jwt.encode({"sub": "customer-42", "name": "Ada", "data": {"plan": "pro"}}, secret, algorithm="HS256")
    found = identity.verify(secret, {"token": token})
    assert (found.user_id, found.name, found.data) == ("customer-42", "Ada", {"plan": "pro"})

    failures = {
        "userHash is not the HMAC-SHA256 of userId with this bot's identity secret":
            {"userId": "customer-43", "userHash": digest},
        "identity token is invalid: Signature verification failed":
            {"token": jwt.encode({"sub": "x"}, "other", algorithm="HS256")},
        "identity token has expired":
            {"token": jwt.encode({"sub": "x", "exp": int(time.time()) - 10}, secret, algorithm="HS256")},
        'identity token is invalid: Token is missing the "sub" claim':
            {"token": jwt.encode({"name": "x"}, secret, algorithm="HS256")},
        "identity needs either token (a JWT) or userId and userHash": {"user": "x"},
    }
    for message, given in failures.items():
        with pytest.raises(identity.IdentityInvalid) as caught:
            identity.verify(secret, given)
        assert str(caught.value) == message
    with pytest.raises(identity.IdentityInvalid, match="no identity secret"):
        identity.verify("", {"userId": "x", "userHash": "y"})


def test_identity_required_refuses_anonymous_users():
    bot = create_bot(echo_bot(), identity_required=True)
    with pytest.raises(services.WebchatError) as caught:
        services.open_session(bot.pk, origin=ORIGIN, host="studio.test", hello={"type": "hello"})
    assert (caught.value.code, caught.value.close_code) == ("identity_required", 4401)
    secret = services.generate_identity_secret(bot)
    digest = hmac.new(secret.encode(), b"alice", hashlib.sha256).hexdigest()
    session = services.open_session(bot.pk, origin=ORIGIN, host="studio.test",
                                    hello={"identity": {"userId": "alice", "userHash": digest}})
    # The key it was given is enough afterwards.
    again = services.open_session(bot.pk, origin=ORIGIN, host="studio.test",
                                  hello={"userKey": session.user_key, "conversationId": session.conversation_id})
    assert again.conversation == session.conversation


def test_a_conversation_id_of_another_user_is_not_honoured():
    bot = create_bot(echo_bot())
    alice = services.open_session(bot.pk, origin=ORIGIN, host="h", hello={})
    mallory = services.open_session(bot.pk, origin=ORIGIN, host="h", hello={"conversationId": alice.conversation_id})
    assert mallory.conversation != alice.conversation and mallory.is_new_conversation
    with pytest.raises(services.WebchatError) as caught:
        services.resume_session(bot.pk, origin=ORIGIN, host="h", user_key=mallory.user_key,
                                conversation_id=alice.conversation_id)
    assert caught.value.code == "unknown_conversation"


def test_user_fields_are_checked():
    bot = create_bot(echo_bot())
    session = services.open_session(bot.pk, origin=ORIGIN, host="h", hello={"user": {"name": "Ada", "data": {"a": 1}}})
    assert services.user_view(session)["name"] == "Ada"
    for bad, message in (
        ({"nick": "x"}, "user has unknown fields: nick (allowed: name, pictureUrl, data)"),
        ({"data": [1]}, "user.data must be an object"),
        ({"data": {"x": "y" * 20000}}, "user.data is larger than 16384 bytes of JSON"),
        ({"pictureUrl": "data:image/png;base64,AAAA"}, "user.pictureUrl must be an http(s) address of at most 1000 characters"),
    ):
        with pytest.raises(services.WebchatError) as caught:
            services.update_user(session, bad)
        assert caught.value.message == message
    assert services.update_user(session, {"data": {"b": 2}})["data"] == {"a": 1, "b": 2}
