"""The help desk section of the bot dashboard through Django's test client, against a local
server that speaks Chatwoot's API."""
import pytest

from flows import services
from integrations.helpdesk.models import Desk
from integrations.helpdesk.testing import fake_chatwoot
from runtime.tests.bots import handoff_bot
from studio.people import workspaces
from studio.people.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(django_user_model):
    user = django_user_model.objects.create_user("ann@example.com", "ann@example.com", "a-long-pass-phrase-1")
    user.workspace = workspaces.create_workspace(user, "Acme")
    return user


@pytest.fixture
def bot(ann):
    return services.import_bot(handoff_bot(), workspace=ann.workspace)


def test_connect_chatwoot_test_the_connection_and_never_see_the_token_again(client, ann, bot, settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    client.force_login(ann)
    page = client.get(f"/bots/{bot.pk}/").content.decode()
    assert 'data-testid="helpdesk"' in page and "not connected" in page
    with fake_chatwoot() as desk:
        answer = client.post(f"/bots/{bot.pk}/helpdesk/", {
            "action": "save", "base_url": desk.url + "/", "account_id": "3", "inbox_id": "9",
            "api_access_token": desk.token, "webhook_secret": desk.webhook_secret})
        assert answer.status_code == 302 and answer["Location"].endswith("#helpdesk")
        row = Desk.objects.get(bot=bot)
        assert row.base_url == desk.url  # the trailing slash dropped
        page = client.get(f"/bots/{bot.pk}/").content.decode()
        assert f"/helpdesk/chatwoot/{bot.pk}/{row.secret_id}/" in page and "connected" in page
        assert desk.token not in page and desk.webhook_secret not in page
        assert "set — leave empty to keep" in page
        tested = client.post(f"/bots/{bot.pk}/helpdesk/", {"action": "test"}, follow=True).content.decode()
        assert "Chatwoot: connected to inbox Flowstudio handoff" in tested
    entry = AuditEntry.objects.get(action="helpdesk.connect", actor=ann)
    assert entry.details["api_access_token"] == "replaced" and desk.token not in str(entry.details)
    client.post(f"/bots/{bot.pk}/helpdesk/", {"action": "disable"})
    assert not Desk.objects.get(bot=bot).enabled
    client.post(f"/bots/{bot.pk}/helpdesk/", {"action": "remove"})
    assert not Desk.objects.exists()
    assert AuditEntry.objects.filter(action="helpdesk.remove").exists()


def test_a_bad_value_is_a_clear_message_and_nothing_is_saved(client, ann, bot):
    client.force_login(ann)
    answer = client.post(f"/bots/{bot.pk}/helpdesk/", {
        "action": "save", "base_url": "http://169.254.169.254/", "account_id": "3", "inbox_id": "9",
        "api_access_token": "cw-token-1234", "webhook_secret": "cw-secret-1234"}, follow=True)
    assert "Chatwoot URL" in answer.content.decode()
    answer = client.post(f"/bots/{bot.pk}/helpdesk/", {
        "action": "save", "base_url": "https://chat.example.com", "account_id": "three", "inbox_id": "9",
        "api_access_token": "cw-token-1234", "webhook_secret": "cw-secret-1234"}, follow=True)
    assert "account_id" in answer.content.decode()
    assert not Desk.objects.exists()
