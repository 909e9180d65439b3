"""Issue 14 item 2: no published key in production, stored secrets under their own keys,
and a rotation that re-encrypts them (docs/security.md, "Secrets and keys")."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core import signing
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client, override_settings

from flows.models import ConfigValue
from integrations.chat_api import services as chat_api
from integrations.chat_api.models import ChatApiSettings
from integrations.webchat import identity
from integrations.webchat import services as webchat
from integrations.webchat.models import WebchatSettings
from integrations.webchat.tests.helpers import ORIGIN, create_bot
from runtime.tests.bots import echo_bot

ROOT = Path(__file__).resolve().parents[2]
DEVELOPMENT_KEY = "dev-insecure-flowstudio-secret-change-me"
REAL_LOOKING_KEY = "Vq3x9-not-a-real-deployment-key-but-long-and-random-looking-7c2e1f"


def load_settings(**env):
    """Start Django in a fresh process with exactly these settings variables."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DATABASE_URL", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "FLOWSTUDIO_ENCRYPTION_KEYS",
                          "DEBUG", "FLOWSTUDIO_PROFILE", "STUDIO_LIVE_TEST_DB")}
    clean.update(env, DJANGO_SETTINGS_MODULE="studio.settings", SQLITE_PATH=":memory:")
    return subprocess.run([sys.executable, "-c", "import django; django.setup(); print('started')"],
                          cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


POSTGRES = "postgres://postgres@127.0.0.1:5432/flowstudio"


@pytest.mark.parametrize("secret_key", [None, "", "   ", DEVELOPMENT_KEY])
def test_debug_off_on_postgres_refuses_to_start_without_a_real_secret_key(secret_key):
    env = {"DATABASE_URL": POSTGRES, "FLOWSTUDIO_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    if secret_key is not None:
        env["SECRET_KEY"] = secret_key
    started = load_settings(**env)
    assert started.returncode != 0 and "started" not in started.stdout
    assert "ImproperlyConfigured: SECRET_KEY: set it to a long random value" in started.stderr


def test_the_production_profile_refuses_the_development_key_even_on_sqlite():
    started = load_settings(FLOWSTUDIO_PROFILE="production", SECRET_KEY=DEVELOPMENT_KEY,
                            FLOWSTUDIO_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert started.returncode != 0 and "SECRET_KEY: set it" in started.stderr
    debug = load_settings(FLOWSTUDIO_PROFILE="production", DEBUG="true")
    assert debug.returncode != 0 and "DEBUG: must be off with FLOWSTUDIO_PROFILE=production" in debug.stderr


def test_the_development_key_cannot_hide_among_the_fallbacks():
    started = load_settings(DATABASE_URL=POSTGRES, SECRET_KEY=REAL_LOOKING_KEY, SECRET_KEY_FALLBACKS=DEVELOPMENT_KEY,
                            FLOWSTUDIO_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert started.returncode != 0 and "SECRET_KEY_FALLBACKS: remove the published development key" in started.stderr


def test_encryption_keys_are_required_and_checked_without_showing_them():
    missing = load_settings(DATABASE_URL=POSTGRES, SECRET_KEY=REAL_LOOKING_KEY)
    assert missing.returncode != 0 and "FLOWSTUDIO_ENCRYPTION_KEYS: set it to a Fernet key" in missing.stderr
    typo = Fernet.generate_key().decode()[:-3] + "!!="
    bad = load_settings(DATABASE_URL=POSTGRES, SECRET_KEY=REAL_LOOKING_KEY,
                        FLOWSTUDIO_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},{typo}")
    assert bad.returncode != 0 and "FLOWSTUDIO_ENCRYPTION_KEYS: key 2 is not a Fernet key" in bad.stderr
    assert typo not in bad.stderr and typo[:20] not in bad.stderr


def test_debug_or_the_embedded_default_still_start_with_nothing_set():
    assert load_settings(DATABASE_URL=POSTGRES, DEBUG="true").stdout.strip() == "started"
    assert load_settings().stdout.strip() == "started"  # SQLite, DEBUG off: the embedded default
    real = load_settings(DATABASE_URL=POSTGRES, SECRET_KEY=REAL_LOOKING_KEY,
                         FLOWSTUDIO_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert real.stdout.strip() == "started", real.stderr


def send(client, bot, user_key, conversation_id):
    return client.post(f"/webchat/{bot.pk}/api/send", content_type="application/json", headers={"Origin": ORIGIN},
                       data=json.dumps({"userKey": user_key, "conversationId": conversation_id,
                                        "frame": {"type": "ping"}}))


@pytest.mark.django_db(transaction=True)
def test_a_webchat_user_key_forged_with_the_published_key_is_refused():
    assert settings.SECRET_KEY != DEVELOPMENT_KEY
    bot = create_bot(echo_bot(), allowed_origins=[ORIGIN])
    client = Client()
    ready = client.post(f"/webchat/{bot.pk}/api/session", data="{}", content_type="application/json",
                        headers={"Origin": ORIGIN}).json()["ready"]
    claims = signing.loads(ready["userKey"], salt=identity.USER_KEY_SALT)
    assert send(client, bot, ready["userKey"], ready["conversationId"]).status_code == 200

    for forged_claims in (claims, {"b": str(bot.pk), "u": "verified:customer-42"}):
        forged = signing.dumps(forged_claims, key=DEVELOPMENT_KEY, salt=identity.USER_KEY_SALT, compress=True)
        refused = send(client, bot, forged, ready["conversationId"])
        assert refused.status_code == 401 and refused.json()["code"] == "unknown_user"


def raw_columns() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_value FROM flows_configvalue")
        rows = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT encrypted_key, encrypted_webhook_secret FROM chat_api_chatapisettings")
        rows += [c for r in cursor.fetchall() for c in r]
        cursor.execute("SELECT encrypted_identity_secret FROM webchat_webchatsettings")
        rows += [r[0] for r in cursor.fetchall()]
    return " ".join(rows)


def stored_secrets(bot) -> dict:
    chat_api.forget_cached_settings()
    row = ChatApiSettings.objects.get(bot=bot)
    return {
        "config": ConfigValue.objects.get(bot=bot, name="PAYMENTS_KEY").value,
        "chat_api_key": row.encryption_key,
        "webhook_secret": row.webhook_secret,
        "identity_secret": WebchatSettings.objects.get(bot=bot).identity_secret,
    }


@pytest.mark.django_db
def test_rotation_end_to_end_old_key_then_both_then_only_the_new_one(capsys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FLOWSTUDIO_ENCRYPTION_KEYS=[old], FLOWSTUDIO_DECRYPT_WITH_SECRET_KEY=False):
        bot = create_bot(echo_bot())
        ConfigValue.objects.create(bot=bot, name="PAYMENTS_KEY", environment="production", value="sk-live-4242")
        chat_api.update_chat_api(bot, enabled=True, rotate_key=True, webhook_url="https://hooks.example.com/in",
                                 webhook_secret="whsec-9876-rotate-me")
        webchat.generate_identity_secret(bot)
        before = stored_secrets(bot)
        assert before["config"] == "sk-live-4242" and before["webhook_secret"] == "whsec-9876-rotate-me"
        written_by_old = raw_columns()

    with override_settings(FLOWSTUDIO_ENCRYPTION_KEYS=[new, old], FLOWSTUDIO_DECRYPT_WITH_SECRET_KEY=False):
        assert stored_secrets(bot) == before  # the new key first, the old still decrypts
        capsys.readouterr()
        call_command("rotate_secrets")
        report = capsys.readouterr().out
        assert "flows.ConfigValue.encrypted_value: 1 re-encrypted, 0 already current" in report
        assert "chat_api.ChatApiSettings.encrypted_key: 1 re-encrypted" in report
        assert "chat_api.ChatApiSettings.encrypted_webhook_secret: 1 re-encrypted" in report
        assert "webchat.WebchatSettings.encrypted_identity_secret: 1 re-encrypted" in report
        assert "total: 4 re-encrypted, 0 already current" in report
        for secret in before.values():
            assert secret not in report
        assert raw_columns() != written_by_old

        call_command("rotate_secrets")  # idempotent: nothing left to do
        assert "total: 0 re-encrypted, 4 already current" in capsys.readouterr().out

    with override_settings(FLOWSTUDIO_ENCRYPTION_KEYS=[new], FLOWSTUDIO_DECRYPT_WITH_SECRET_KEY=False):
        assert stored_secrets(bot) == before
    with override_settings(FLOWSTUDIO_ENCRYPTION_KEYS=[old], FLOWSTUDIO_DECRYPT_WITH_SECRET_KEY=False):
        with pytest.raises(Exception):
            stored_secrets(bot)  # the old key alone no longer reads anything


@pytest.mark.django_db
def test_rotate_secrets_moves_values_off_the_secret_key_and_names_unreadable_rows(capsys):
    bot = create_bot(echo_bot())
    with override_settings(FLOWSTUDIO_ENCRYPTION_KEYS=[]):  # how values were encrypted before
        legacy = ConfigValue.objects.create(bot=bot, name="PAYMENTS_KEY", environment="draft", value="sk-old-1")
    call_command("rotate_secrets")
    assert "flows.ConfigValue.encrypted_value: 1 re-encrypted" in capsys.readouterr().out
    with override_settings(FLOWSTUDIO_DECRYPT_WITH_SECRET_KEY=False):
        assert ConfigValue.objects.get(pk=legacy.pk).value == "sk-old-1"

    with override_settings(FLOWSTUDIO_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        lost = ConfigValue.objects.create(bot=bot, name="OTHER", environment="draft", value="sk-lost-2")
    with pytest.raises(CommandError, match=rf"1 value\(s\) cannot be decrypted.*flows.ConfigValue.encrypted_value pk={lost.pk}"):
        call_command("rotate_secrets")
    out = capsys.readouterr().out
    assert "1 already current" in out and "1 unreadable" in out and "sk-" not in out
