"""The messaging channels section of the bot dashboard through Django's test client."""
import pytest

from flows import services
from integrations.messaging.models import Channel
from integrations.messaging.tests.bots import pizza_bot
from studio.people import workspaces
from studio.people.models import AuditEntry, Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(django_user_model):
    user = django_user_model.objects.create_user("ann@example.com", "ann@example.com", "a-long-pass-phrase-1")
    user.workspace = workspaces.create_workspace(user, "Acme")
    return user


@pytest.fixture
def bot(ann):
    bot = services.import_bot(pizza_bot(), workspace=ann.workspace)
    services.publish(bot)
    return bot


def test_install_the_webhook_channel_see_its_url_disable_it(client, ann, bot):
    client.force_login(ann)
    page = client.get(f"/bots/{bot.pk}/").content.decode()
    assert 'data-testid="channel-webhook"' in page and "not installed" in page
    answer = client.post(f"/bots/{bot.pk}/channels/webhook/", {"action": "save", "url": "", "secret": ""})
    assert answer.status_code == 302 and answer["Location"].endswith("#channel-webhook")
    channel = Channel.objects.get(bot=bot)
    page = client.get(f"/bots/{bot.pk}/").content.decode()
    assert f"/integrations/webhook/{bot.pk}/{channel.secret_id}/" in page and "connected" in page
    assert channel.secrets["secret"] not in page  # generated, and shown on request only
    assert client.get(f"/bots/{bot.pk}/channels/webhook/secret/").content.decode() == channel.secrets["secret"]
    client.post(f"/bots/{bot.pk}/channels/webhook/", {"action": "disable"})
    assert not Channel.objects.get(pk=channel.pk).enabled
    assert AuditEntry.objects.filter(action="channel.install", actor=ann).exists()


def test_a_refused_reply_url_is_a_clear_message_and_nothing_is_saved(client, ann, bot):
    client.force_login(ann)
    answer = client.post(f"/bots/{bot.pk}/channels/webhook/",
                         {"action": "save", "url": "http://169.254.169.254/latest/"}, follow=True)
    assert "reply URL" in answer.content.decode() and "refused" in answer.content.decode()
    assert not Channel.objects.exists()


def test_a_viewer_sees_no_forms_and_cannot_change_channels(client, ann, bot, django_user_model):
    viewer = django_user_model.objects.create_user("vic@example.com", "vic@example.com", "a-long-pass-phrase-1")
    Membership.objects.create(workspace=ann.workspace, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    page = client.get(f"/bots/{bot.pk}/").content.decode()
    assert 'data-testid="channel-telegram"' in page and 'name="bot_token"' not in page
    answer = client.post(f"/bots/{bot.pk}/channels/webhook/", {"action": "save"})
    assert answer.status_code in (403, 404)
    assert not Channel.objects.exists()
