"""Accounts in a real browser: the live server, logging in by cookie and by the form."""
import pytest

pytestmark = pytest.mark.browser


def test_login_helper_signs_in(page, studio_url, make_user, login):
    ann = make_user()
    page.goto(studio_url + "/accounts/login/")
    assert page.locator("form").count() == 1
    login(page, ann)
    page.goto(studio_url + "/accounts/login/")
    # A signed-in user is sent on from the login page.
    assert "/accounts/login/" not in page.url
