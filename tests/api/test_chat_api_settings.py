"""The Chat API's settings through the REST API and the bot dashboard: the base URL is shown,
enabling/disabling and the webhook are editable, the key is only given on its own request,
and the audit log says what changed without the secrets."""
import pytest

from integrations.chat_api import services as chat_api
from studio.people.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_read_enable_set_a_webhook_and_rotate_the_key(world, owner_client):
    url = f"/api/v1/bots/{world.bot.pk}/chat-api"
    shown = owner_client.get(url).json()
    assert shown["enabled"] is False
    assert shown["baseUrl"].endswith(f"/chat/{shown['webhookId']}")
    assert "encryptionKey" not in shown and "webhookSecret" not in shown

    old_key = owner_client.get(url + "/key").json()["encryptionKey"]
    changed = owner_client.patch(url, {"enabled": True, "webhookUrl": "https://example.com/hook", "rotateKey": True},
                                 format="json").json()
    assert (changed["enabled"], changed["webhookUrl"], changed["hasWebhookSecret"]) == \
        (True, "https://example.com/hook", True)
    new_key = owner_client.get(url + "/key").json()["encryptionKey"]
    assert new_key != old_key and len(new_key) >= 16

    entry = AuditEntry.objects.filter(action="chat_api.update").latest("created_at")
    assert entry.details == {"enabled": True, "key": "replaced", "webhookUrl": "https://example.com/hook"}
    assert old_key not in str(entry.details) and new_key not in str(entry.details)


def test_bad_settings_are_refused_with_their_path(world, owner_client):
    url = f"/api/v1/bots/{world.bot.pk}/chat-api"
    bad_url = owner_client.patch(url, {"webhookUrl": "ftp://nowhere"}, format="json")
    assert bad_url.status_code == 400
    assert bad_url.json()["error"]["details"][0]["path"] == "$.webhookUrl"
    short = owner_client.patch(url, {"encryptionKey": "short"}, format="json")
    assert short.status_code == 400 and "encryptionKey" in str(short.json())
    assert chat_api.chat_api_settings(world.bot).webhook_url == ""


def test_a_webhook_url_into_the_servers_own_network_is_refused_naming_the_field(world, owner_client):
    url = f"/api/v1/bots/{world.bot.pk}/chat-api"
    for target, reason in [("http://169.254.169.254/latest/meta-data/", "link-local"),
                           ("http://127.0.0.1:8000/hook", "loopback")]:
        answer = owner_client.patch(url, {"webhookUrl": target}, format="json")
        assert answer.status_code == 400
        detail = answer.json()["error"]["details"][0]
        assert detail["path"] == "$.webhookUrl" and reason in detail["message"], detail
    assert chat_api.chat_api_settings(world.bot).webhook_url == ""


def test_the_dashboard_shows_the_url_and_enables_the_api(world, owner_client):
    from django.test import Client

    client = Client()
    client.force_login(world.users["owner"])
    page = client.get(f"/bots/{world.bot.pk}/")
    base = chat_api.base_url(chat_api.chat_api_settings(world.bot))
    assert base in page.content.decode()

    client.post(f"/bots/{world.bot.pk}/chat-api/", {"action": "enable"})
    assert chat_api.chat_api_settings(world.bot).enabled is True
    key = client.get(f"/bots/{world.bot.pk}/chat-api/key/").content.decode()
    assert key == chat_api.chat_api_settings(world.bot).encryption_key
