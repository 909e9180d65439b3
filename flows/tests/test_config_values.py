import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from flows.models import ConfigValue, ConfigValueUnreadable
from flows.services import import_bot

pytestmark = pytest.mark.django_db

SECRET = "sk-live-4242-very-secret"


@pytest.fixture
def bot(workspace, tiny_bot_doc):
    return import_bot(tiny_bot_doc, workspace=workspace)


def test_the_value_is_encrypted_at_rest(bot):
    stored = ConfigValue.objects.create(bot=bot, name="PAYMENTS_KEY", environment="production", value=SECRET)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM flows_configvalue WHERE id = %s", [stored.pk])
        raw_row = cursor.fetchone()

    assert SECRET not in " ".join(str(column) for column in raw_row)
    assert ConfigValue.objects.get(pk=stored.pk).value == SECRET


def test_draft_and_production_hold_separate_values(bot):
    ConfigValue.objects.create(bot=bot, name="API_URL", environment="draft", value="https://sandbox.example")
    ConfigValue.objects.create(bot=bot, name="API_URL", environment="production", value="https://api.example")
    values = {cv.environment: cv.value for cv in bot.config_values.all()}
    assert values == {"draft": "https://sandbox.example", "production": "https://api.example"}


def test_repr_and_str_hide_the_value(bot):
    stored = ConfigValue.objects.create(bot=bot, name="PAYMENTS_KEY", environment="draft", value=SECRET)
    assert SECRET not in repr(stored)
    assert SECRET not in str(stored)
    assert "PAYMENTS_KEY" in repr(stored)


def test_a_changed_encryption_key_makes_values_unreadable_unless_kept_after_it(bot, settings):
    stored = ConfigValue.objects.create(bot=bot, name="PAYMENTS_KEY", environment="draft", value=SECRET)
    old_keys = settings.FLOWSTUDIO_ENCRYPTION_KEYS
    new_key = Fernet.generate_key().decode()

    with override_settings(FLOWSTUDIO_ENCRYPTION_KEYS=[new_key]):
        with pytest.raises(ConfigValueUnreadable, match="PAYMENTS_KEY"):
            ConfigValue.objects.get(pk=stored.pk).value
    with override_settings(FLOWSTUDIO_ENCRYPTION_KEYS=[new_key, *old_keys]):
        assert ConfigValue.objects.get(pk=stored.pk).value == SECRET


def test_the_secret_key_no_longer_encrypts_when_encryption_keys_are_set(bot, settings):
    stored = ConfigValue.objects.create(bot=bot, name="PAYMENTS_KEY", environment="draft", value=SECRET)
    # Knowing SECRET_KEY (e.g. the published development key) is not enough to read it.
    with override_settings(FLOWSTUDIO_ENCRYPTION_KEYS=[]):
        with pytest.raises(ConfigValueUnreadable, match="PAYMENTS_KEY"):
            ConfigValue.objects.get(pk=stored.pk).value


def test_values_encrypted_the_old_way_stay_readable_after_the_upgrade(bot, settings):
    # Before FLOWSTUDIO_ENCRYPTION_KEYS, the key was derived from SECRET_KEY (and fallbacks).
    with override_settings(FLOWSTUDIO_ENCRYPTION_KEYS=[], SECRET_KEY="the-old-deployment-key-" + "x" * 40):
        stored = ConfigValue.objects.create(bot=bot, name="PAYMENTS_KEY", environment="draft", value=SECRET)
    with override_settings(SECRET_KEY="a-new-session-key-" + "y" * 40,
                           SECRET_KEY_FALLBACKS=["the-old-deployment-key-" + "x" * 40]):
        assert ConfigValue.objects.get(pk=stored.pk).value == SECRET
        with override_settings(FLOWSTUDIO_DECRYPT_WITH_SECRET_KEY=False):
            with pytest.raises(ConfigValueUnreadable):
                ConfigValue.objects.get(pk=stored.pk).value


def test_a_value_must_be_text(bot):
    with pytest.raises(TypeError, match="PAYMENTS_KEY"):
        ConfigValue(bot=bot, name="PAYMENTS_KEY", environment="draft", value=42)
