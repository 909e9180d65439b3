"""A bot builder installs Telegram on a bot from its dashboard with a token, sees it
connected with its webhook URL (registered with Telegram on save), and disables it: the
webhook then refuses updates with the reason."""
import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from flows import services as flow_services
from integrations.messaging.tests.bots import pizza_bot

pytestmark = pytest.mark.browser

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"


def test_install_telegram_see_it_connected_and_disable_it(logged_in_page, studio_url, telegram_api):
    page = logged_in_page
    bot = flow_services.import_bot(pizza_bot(), workspace=page.user.workspace)
    flow_services.publish(bot)
    before = len(telegram_api.requests)

    page.goto(f"/bots/{bot.pk}/#channels")
    telegram = page.get_by_test_id("channel-telegram")
    expect(telegram.get_by_test_id("channel-status")).to_have_text("not installed")
    telegram.get_by_label("Bot token").fill(TOKEN)
    telegram.get_by_role("button", name="Install").click()

    telegram = page.get_by_test_id("channel-telegram")
    expect(telegram.get_by_test_id("channel-status")).to_have_text("connected")
    webhook_url = telegram.get_by_test_id("channel-webhook-url").inner_text()
    assert webhook_url.startswith(f"{studio_url}/integrations/telegram/{bot.pk}/")
    [(method, path, _, body)] = telegram_api.requests[before:]
    assert (path, json.loads(body)["url"]) == (f"/bot{TOKEN}/setWebhook", webhook_url)
    # The token is never shown back.
    assert TOKEN not in page.content()
    expect(telegram.get_by_label("Bot token")).to_have_attribute("placeholder", "set — leave empty to keep")

    telegram.get_by_role("button", name="Disable").click()
    telegram = page.get_by_test_id("channel-telegram")
    expect(telegram.get_by_test_id("channel-status")).to_have_text("disabled")
    update = json.dumps({"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "hi",
                                                     "chat": {"id": 1, "type": "private"}}}).encode()
    request = urllib.request.Request(webhook_url, data=update, headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403 and "disabled" in json.loads(refused.value.read())["error"]

    telegram.get_by_role("button", name="Enable").click()
    expect(page.get_by_test_id("channel-telegram").get_by_test_id("channel-status")).to_have_text("connected")


def test_install_whatsapp_and_test_its_connection(logged_in_page, studio_url, meta_api):
    """WhatsApp shows the webhook URL and the verify token to paste into Meta's dashboard;
    "Test connection" asks the Graph API for the phone number and says what it found, or
    what Meta answered when the credentials are wrong."""
    page = logged_in_page
    bot = flow_services.import_bot(pizza_bot(), workspace=page.user.workspace)
    flow_services.publish(bot)

    page.goto(f"/bots/{bot.pk}/#channels")
    whatsapp = page.get_by_test_id("channel-whatsapp")
    whatsapp.get_by_label("Phone number ID").fill("106540352242922")
    whatsapp.get_by_label("Access token").fill("EAAJB8sH1ZCLwBO0ZBtokenForTests")
    whatsapp.get_by_label("App secret").fill("3f1b2c9d8e7a6b5c4d3e2f1a0b9c8d7e")
    whatsapp.get_by_role("button", name="Install").click()

    whatsapp = page.get_by_test_id("channel-whatsapp")
    expect(whatsapp.get_by_test_id("channel-status")).to_have_text("connected")
    verify_token = whatsapp.get_by_test_id("channel-verify-token").inner_text()
    webhook_url = whatsapp.get_by_test_id("channel-webhook-url").inner_text()
    # Meta's verification GET, as the app dashboard sends it when the URL is pasted.
    query = f"?hub.mode=subscribe&hub.verify_token={verify_token}&hub.challenge=1158201444"
    with urllib.request.urlopen(webhook_url + query, timeout=10) as answer:
        assert answer.read() == b"1158201444"

    before = len(meta_api.requests)
    whatsapp.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status")).to_have_text("WhatsApp: connected to +1 555-078-3881 (Pizza Place)")
    [(method, path, headers, _)] = meta_api.requests[before:]
    assert (method, path.split("?")[0]) == ("GET", "/106540352242922")
    assert headers["Authorization"] == "Bearer EAAJB8sH1ZCLwBO0ZBtokenForTests"

    saved = list(meta_api.answers)
    meta_api.answers[:] = [(401, {"Content-Type": "application/json"},
                            b'{"error":{"message":"Error validating access token: Session has expired",'
                            b'"type":"OAuthException","code":190}}')]
    try:
        page.get_by_test_id("channel-whatsapp").get_by_role("button", name="Test connection").click()
        expect(page.get_by_role("status")).to_contain_text("Session has expired (code 190)")
    finally:
        meta_api.answers[:] = saved
