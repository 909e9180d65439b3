"""`manage.py bot channels BOT`: lists the bot's messaging channels, installs, enables and
disables one; each change lands in the audit log without its secrets."""
import io

import pytest
from django.core.management import CommandError, call_command

from integrations.messaging.tests.bots import pizza_bot
from runtime.tests.bots import create_bot
from studio.people.models import AuditEntry

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = io.StringIO()
    call_command("bot", "channels", *args, stdout=out)
    return out.getvalue()


def test_install_list_disable_enable_remove():
    bot = create_bot(pizza_bot())
    assert "no messaging channels" in _run(str(bot.id))
    out = _run(str(bot.id), "--install", "webhook", "--set", "secret=a-long-enough-secret-value")
    [line] = out.splitlines()
    kind, state, url = line.split("\t")
    assert (kind, state) == ("webhook", "enabled") and f"/integrations/webhook/{bot.id}/" in url
    assert _run(str(bot.id), "--disable", "webhook").split("\t")[1] == "disabled"
    assert _run(str(bot.id), "--enable", "webhook").split("\t")[1] == "enabled"
    assert "no messaging channels" in _run(str(bot.id), "--remove", "webhook")
    entries = list(AuditEntry.objects.filter(action__startswith="channel.").order_by("pk"))
    assert [e.action for e in entries] == ["channel.install", "channel.update", "channel.update", "channel.remove"]
    assert "a-long-enough-secret-value" not in str([e.details for e in entries])


def test_clear_errors():
    bot = create_bot(pizza_bot())
    with pytest.raises(CommandError, match="unknown channel 'fax'"):
        _run(str(bot.id), "--install", "fax")
    with pytest.raises(CommandError, match="has no Slack channel"):
        _run(str(bot.id), "--disable", "slack")
    with pytest.raises(CommandError, match="expected FIELD=VALUE"):
        _run(str(bot.id), "--install", "webhook", "--set", "secret")
    with pytest.raises(CommandError, match="Slack: .*bot_token"):
        _run(str(bot.id), "--install", "slack")


def test_install_whatsapp_see_its_verify_token_and_test_the_connection(settings):
    from integrations.messaging import services as messaging
    from runtime.tests.receiver import receiver

    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    bot = create_bot(pizza_bot())
    with receiver((200, {"Content-Type": "application/json"},
                   b'{"display_phone_number":"+1 555-078-3881","verified_name":"Pizza Place","id":"1065403522"}'),
                  (401, {"Content-Type": "application/json"},
                   b'{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}')) as api:
        settings.FLOWSTUDIO_META_GRAPH_API_URL = api.url
        out = _run(str(bot.id), "--install", "whatsapp", "--set", "phone_number_id=1065403522",
                   "--set", "access_token=EAAJB8sH1ZCLwBO0ZBtokenForTests",
                   "--set", "app_secret=3f1b2c9d8e7a6b5c4d3e2f1a0b9c8d7e")
        token = messaging.config_of(messaging.get_channel(bot, "whatsapp")).verify_token
        assert out.split("\t")[:2] == ["whatsapp", "enabled"] and f"verify token {token}" in out
        assert _run(str(bot.id), "--test", "whatsapp").strip() == "WhatsApp: connected to +1 555-078-3881 (Pizza Place)"
        with pytest.raises(CommandError, match=r"answered 401: Invalid OAuth access token. \(code 190\)"):
            _run(str(bot.id), "--test", "whatsapp")
    assert "EAAJB8sH1ZCLwBO0ZBtokenForTests" not in out
