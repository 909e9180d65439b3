"""Issue 14 item 9 in Chromium: forgot the password, locked out, reset by the mailed link,
logged in with the new password."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_locked_out_then_reset_by_mail_then_log_in(page, make_user, sent_mail):
    ann = make_user(email="ann@example.com")
    page.goto("/accounts/login/")
    for attempt in range(5):
        page.get_by_label("Email").fill("ann@example.com")
        page.get_by_label("Password").fill(f"wrong-{attempt}")
        page.get_by_role("button", name="Log in").click()
    expect(page.locator("[data-error-message]")).to_contain_text(
        "Too many failed logins for this email from your address. Try again in 15 minutes")
    page.get_by_label("Password").fill(ann.password_plain)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("[data-error-message]")).to_contain_text("Too many failed logins")

    page.get_by_role("link", name="reset your password").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("[data-reset-sent]")).to_contain_text("a link to choose a new password is on its way")

    mails = sent_mail()
    assert [m["To"] for m in mails] == ["ann@example.com"]
    assert mails[0]["Subject"] == "Reset your Flowstudio password"
    link = re.search(r"(http://127\.0\.0\.1:\d+/accounts/password/reset/\S+/)", mails[0].get_payload()).group(1)
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password confirmation").fill("short")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".errorlist")).to_contain_text("too short")
    page.get_by_label("New password", exact=True).fill("a-fresh-long-phrase-3")
    page.get_by_label("New password confirmation").fill("a-fresh-long-phrase-3")
    page.get_by_role("button", name="Set password").click()

    expect(page.locator(".flash")).to_contain_text("Your password was changed. Log in with the new one.")
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Password").fill("a-fresh-long-phrase-3")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("my-role")).to_have_text("Owner")

    page.goto(link)  # the link worked once
    expect(page.locator("[data-error-message]")).to_contain_text("already used or has expired")
