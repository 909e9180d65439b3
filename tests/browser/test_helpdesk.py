"""A bot builder connects Chatwoot as the bot's help desk from its dashboard (against a local
server that speaks Chatwoot's API), tests the connection, sees the webhook URL to paste into
Chatwoot and never the token again, and disables the desk."""
import pytest
from playwright.sync_api import expect

from flows import services as flow_services
from integrations.helpdesk.testing import fake_chatwoot
from runtime.tests.bots import handoff_bot

pytestmark = pytest.mark.browser


def test_connect_chatwoot_test_it_and_disable_it(logged_in_page, studio_url):
    page = logged_in_page
    bot = flow_services.import_bot(handoff_bot(), workspace=page.user.workspace)
    with fake_chatwoot() as desk:
        page.goto(f"/bots/{bot.pk}/#helpdesk")
        section = page.get_by_test_id("helpdesk")
        expect(section.get_by_test_id("helpdesk-status")).to_have_text("not connected")
        section.get_by_label("Chatwoot URL").fill(desk.url)
        section.get_by_label("Account ID").fill(str(desk.account_id))
        section.get_by_label("Inbox ID").fill(str(desk.inbox_id))
        section.get_by_label("API access token").fill(desk.token)
        section.get_by_label("Webhook secret").fill(desk.webhook_secret)
        section.get_by_role("button", name="Connect").click()

        section = page.get_by_test_id("helpdesk")
        expect(section.get_by_test_id("helpdesk-status")).to_have_text("connected")
        webhook_url = section.get_by_test_id("helpdesk-webhook-url").inner_text()
        assert webhook_url.startswith(f"{studio_url}/helpdesk/chatwoot/{bot.pk}/")
        assert desk.token not in page.content() and desk.webhook_secret not in page.content()
        expect(section.get_by_label("API access token")).to_have_attribute("placeholder", "set — leave empty to keep")

        section.get_by_role("button", name="Test connection").click()
        expect(page.get_by_text("Chatwoot: connected to inbox Flowstudio handoff (Channel::Api)")).to_be_visible()
        assert ("GET", f"/api/v1/accounts/{desk.account_id}/inboxes/{desk.inbox_id}", {}) in desk.requests

    page.get_by_test_id("helpdesk").get_by_role("button", name="Disable").click()
    expect(page.get_by_test_id("helpdesk").get_by_test_id("helpdesk-status")).to_have_text("disabled")
