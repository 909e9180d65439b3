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
