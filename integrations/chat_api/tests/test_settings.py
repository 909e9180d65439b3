"""Chat API settings: created on demand (disabled), secrets encrypted at rest and never in
repr, key replacement, webhook settings, and the `bot info` / `bot chat-api` commands."""
import io

import pytest
from django.core.management import CommandError, call_command

from integrations.chat_api import services
from integrations.chat_api.errors import InvalidPayload
from integrations.chat_api.models import ChatApiSettings

from .conftest import make_bot

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("bot", *args, stdout=out)
    return out.getvalue()


def test_settings_are_made_on_first_use_disabled_and_secrets_are_encrypted(settings):
    bot, _ = make_bot()
    ChatApiSettings.objects.filter(bot=bot).delete()
    row = services.chat_api_settings(bot)
    assert not row.enabled and len(row.encryption_key) >= 32
    assert row.encryption_key not in row.encrypted_key
    assert row.encryption_key not in repr(row) and row.encryption_key not in str(row)
    assert services.base_url(row) == f"{settings.PUBLIC_URL}/chat/{row.webhook_id}"
    assert services.chat_api_settings(bot).pk == row.pk  # the same row next time

    row = services.update_chat_api(bot, webhook_url="https://example.org/hook")
    secret = ChatApiSettings.objects.get(pk=row.pk).webhook_secret
    assert secret and secret not in row.encrypted_webhook_secret
    row = services.update_chat_api(bot, webhook_url="")
    assert row.webhook_url == "" and row.webhook_secret == ""


def test_replacing_the_key_and_refusing_bad_values():
    bot, row = make_bot()
    old = row.encryption_key
    assert services.update_chat_api(bot, rotate_key=True).encryption_key != old
    assert services.update_chat_api(bot, encryption_key="k" * 20).encryption_key == "k" * 20
    with pytest.raises(InvalidPayload, match="at least 16"):
        services.update_chat_api(bot, encryption_key="short")
    with pytest.raises(InvalidPayload, match="not an http"):
        services.update_chat_api(bot, webhook_url="ftp://example.org")


def test_bot_info_prints_the_chat_api_base_url(settings):
    bot, row = make_bot()
    out = run("info", str(bot.pk))
    assert f"chat api: {settings.PUBLIC_URL}/chat/{row.webhook_id}\n" in out + "\n"


def test_bot_chat_api_command():
    bot, row = make_bot()
    out = run("chat-api", str(bot.pk), "--disable", "--webhook", "https://example.org/in", "--rotate-key")
    row.refresh_from_db()
    assert "enabled: no" in out and "webhook: https://example.org/in" in out
    assert f"encryption key: {row.encryption_key}" in out and f"webhook secret: {row.webhook_secret}" in out
    assert "(disabled: manage.py bot chat-api" in run("info", str(bot.pk))
    out = run("chat-api", str(bot.pk), "--enable", "--no-webhook")
    assert "enabled: yes" in out and "webhook: none" in out and "encryption key" not in out
    with pytest.raises(CommandError, match="not an http"):
        run("chat-api", str(bot.pk), "--webhook", "nope")
