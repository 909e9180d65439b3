"""A bot builder opens the bot's Webhook triggers page from its dashboard, sees the trigger's
URL, makes its secret (shown once), and a signed POST to that URL is accepted; after a reload
the secret is gone from the page; rotating it makes a new one and the old one is refused."""
import httpx
import pytest
from playwright.sync_api import expect

from flows import services as flow_services
from integrations.triggers.tests.test_webhook_trigger import hook_bot
from runtime import triggers
from runtime.models import TriggerSecret

pytestmark = pytest.mark.browser


def _post(url, secret):
    body = b'{"order": {"id": 42}, "state": "paid"}'
    return httpx.post(url, content=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Flowstudio-Signature": triggers.signature(secret, body)})


def test_make_see_once_use_and_rotate_a_webhook_trigger_secret(logged_in_page, studio_url):
    page = logged_in_page
    bot = flow_services.import_bot(hook_bot(), workspace=page.user.workspace)
    flow_services.publish(bot)

    page.goto(f"/bots/{bot.pk}/")
    page.get_by_role("link", name="Webhook triggers").click()
    row = page.locator('[data-trigger="main/paid"]')
    url = row.get_by_test_id("trigger-url").inner_text()
    assert url == f"{studio_url}/triggers/{bot.pk}/main/paid/"
    expect(row.get_by_test_id("secret-state")).to_contain_text("none yet")
    assert _post(url, "a guess").status_code == 401

    row.get_by_role("button", name="Make secret").click()
    expect(page.get_by_test_id("new-secret")).to_contain_text("not shown again")
    secret = page.get_by_test_id("secret-value").input_value()
    assert len(secret) >= 32
    expect(page.locator('[data-trigger="main/paid"]').get_by_test_id("secret-state")).to_have_text("set")
    stored = TriggerSecret.objects.get(bot=bot, flow="main", node="paid")
    assert secret not in str(stored.encrypted_secret)  # encrypted at rest
    answer = _post(url, secret)
    assert answer.status_code == 202, answer.text

    # The address bar shows the page, not the POST: a reload reads it, it does not rotate again.
    assert page.url == f"{studio_url}/bots/{bot.pk}/triggers/"
    page.reload()
    expect(page.get_by_test_id("triggers")).to_be_visible()
    assert secret not in page.content() and page.get_by_test_id("new-secret").count() == 0

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('[data-trigger="main/paid"]').get_by_role("button", name="Rotate secret").click()
    rotated = page.get_by_test_id("secret-value").input_value()
    assert rotated != secret
    assert _post(url, secret).status_code == 401
    assert _post(url, rotated).status_code == 202
