"""Accounts, profile, tokens and workspace settings in Chromium."""
import json
import re

import pytest
from playwright.sync_api import expect

from flows.models import Bot
from studio.people.models import PersonalAccessToken, Workspace

pytestmark = pytest.mark.browser
PNG = b"\x89PNG\r\n\x1a\n" + bytes.fromhex(
    "0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5"
    "5b1b1b0000000049454e44ae426082"
)


def test_login_helper_signs_in(page, make_user, login):
    ann = make_user()
    login(page, ann)
    page.goto("/accounts/login/")
    # A signed-in user is sent on from the login page, to their workspace.
    expect(page).to_have_url(re.compile(rf"/w/{ann.workspace.slug}/$"))


def test_sign_up_log_out_log_in_change_password(page):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Your name").fill("Zoe")
    page.get_by_label("Email").fill("zoe@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".errorlist")).to_contain_text("too short")
    page.get_by_label("Password").fill("a-long-pass-phrase-1")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zoe's workspace")

    page.get_by_label("Account menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill("zoe@example.com")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("[data-error-message]")).to_contain_text("do not match")
    page.get_by_label("Password").fill("a-long-pass-phrase-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zoe's workspace")

    page.get_by_label("Account menu").click()
    page.get_by_role("link", name="Password").click()
    page.get_by_label("Old password").fill("a-long-pass-phrase-1")
    page.get_by_label("New password", exact=True).fill("new-long-pass-phrase-2")
    page.get_by_label("New password confirmation").fill("new-long-pass-phrase-2")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".flash")).to_contain_text("Your password was changed")
    page.get_by_label("Account menu").click()
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email").fill("zoe@example.com")
    page.get_by_label("Password").fill("new-long-pass-phrase-2")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("my-role")).to_have_text("Owner")


def test_profile_avatar_and_theme(logged_in_page, tmp_path):
    page = logged_in_page
    page.goto("/accounts/profile/")
    page.get_by_label("Name").fill("Ann Avatar")
    (tmp_path / "me.png").write_bytes(PNG)
    page.get_by_label("Upload an avatar").set_input_files(str(tmp_path / "me.png"))
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator(".flash")).to_contain_text("Profile saved")
    avatar = page.locator("header img.avatar")
    expect(avatar).to_have_attribute("src", re.compile(rf"/accounts/avatar/{page.user.pk}/"))
    assert page.evaluate("document.querySelector('header img.avatar').naturalWidth") == 1

    (tmp_path / "fake.png").write_text("<svg onload=alert(1)>")
    page.get_by_label("Upload an avatar").set_input_files(str(tmp_path / "fake.png"))
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator(".errorlist")).to_contain_text("only PNG, JPEG or GIF images can be avatars")

    # Theme: follows the system, a click forces light, then dark; it survives a reload.
    page.emulate_media(color_scheme="dark")
    background = "getComputedStyle(document.body).backgroundColor"
    dark = page.evaluate(background)
    toggle = page.get_by_role("button", name="Change theme")
    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    light = page.evaluate(background)
    assert light != dark
    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.emulate_media(color_scheme="light")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert page.evaluate(background) == dark
    page.get_by_role("button", name="Change theme").click()  # back to following the system
    expect(page.locator("html")).not_to_have_attribute("data-theme", re.compile("."))
    assert page.evaluate(background) == light


def test_tokens_shown_once_then_revoked(logged_in_page):
    page = logged_in_page
    page.goto("/tokens/")
    page.get_by_placeholder("What is it for?").fill("CI deploys")
    page.get_by_role("button", name="Create token").click()
    raw = page.locator("#new-token").input_value()
    assert raw.startswith("fs_pat_")
    row = page.get_by_test_id("tokens").get_by_role("row", name=re.compile("CI deploys"))
    expect(row).to_contain_text(raw[:11])
    expect(row).to_contain_text("never")
    assert page.request.get("/api/v1/workspaces", headers={"Authorization": f"Bearer {raw}"}).status == 200
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.get_by_test_id("tokens")).not_to_contain_text("never")  # last used is now set
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_test_id("tokens")).to_contain_text("revoked")
    assert page.request.get("/api/v1/workspaces", headers={"Authorization": f"Bearer {raw}"}).status == 401
    assert PersonalAccessToken.objects.get().revoked_at is not None


def test_import_errors_then_import_rename_and_delete_workspace(logged_in_page, tmp_path):
    page = logged_in_page
    slug = page.user.workspace.slug
    page.goto(f"/w/{slug}/")
    broken = {"format": "flowstudio.bot/1", "name": "Broken", "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "missing"}]}]}
    (tmp_path / "broken.bot.json").write_text(json.dumps(broken))
    page.get_by_label("Bot file (.bot.json)").set_input_files(str(tmp_path / "broken.bot.json"))
    page.get_by_role("button", name="Import").click()
    problems = page.get_by_test_id("import-problems")
    expect(problems).to_contain_text("$.flows[0].nodes[0].next")
    assert not Bot.objects.exists()
    page.get_by_label("Bot file (.bot.json)").set_input_files("examples/hello.bot.json")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("link", name=re.compile("editor"))).to_be_visible()
    assert Bot.objects.count() == 1

    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_label("Name").fill("Renamed Space")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_test_id("workspace-switcher").locator("summary")).to_have_text("Renamed Space")
    page.get_by_label("Type Renamed Space to confirm").fill("renamed space")
    page.get_by_role("button", name="Delete workspace").click()
    expect(page.locator(".errorlist")).to_contain_text("type the workspace's name (Renamed Space) to confirm")
    page.get_by_label("Type Renamed Space to confirm").fill("Renamed Space")
    page.get_by_role("button", name="Delete workspace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New workspace")
    assert not Workspace.objects.exists() and not Bot.objects.exists()
