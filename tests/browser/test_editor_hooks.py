"""Hooks in the editor's Library panel, in Chromium: a hook is added with its type and code,
saved into the draft by the autosave, edited (disabled), a syntax error shows in the problems
panel, and the draft the emulator runs uses the hook."""
import copy

import pytest
from playwright.sync_api import expect

from flows import services

from .editor_page import VIEWPORT, EditorPage
from .test_editor_library import BOT, entry_row

pytestmark = pytest.mark.browser


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def bot(owner):
    return services.import_bot(copy.deepcopy(BOT), workspace=owner.workspace, user=owner)


@pytest.fixture
def editor(new_context, login, studio_url, owner, bot):
    page = new_context(viewport=VIEWPORT).new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    login(page, owner)
    yield EditorPage(page).open(studio_url, bot)
    assert page.errors == [], f"JavaScript errors on the page: {page.errors}"


def test_a_hook_is_added_edited_and_checked_in_the_library(editor, bot):
    page = editor.page
    page.locator('#fs-rail [data-left-tab="library"]').click()
    library = page.locator("#fs-library")
    expect(library.locator('[data-library-section="hooks"]')).to_contain_text("None")

    library.get_by_role("button", name="+ Hook").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Name", exact=True).fill("skip-pings")
    dialog.get_by_label("Runs").select_option("before_incoming")
    dialog.get_by_label("Code").fill("if (event.payload.text === 'ping') return false;")
    dialog.get_by_role("button", name="Add hook").click()
    expect(entry_row(page, "hooks", "skip-pings")).to_contain_text("before_incoming")
    editor.saved()
    bot.refresh_from_db()
    assert bot.draft["hooks"] == [{"name": "skip-pings", "type": "before_incoming",
                                   "code": "if (event.payload.text === 'ping') return false;"}]

    # A second hook with the same name is refused in the dialog.
    library.get_by_role("button", name="+ Hook").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Name", exact=True).fill("skip-pings")
    dialog.get_by_label("Code").fill("return;")
    dialog.get_by_role("button", name="Add hook").click()
    expect(dialog.locator('[data-dialog-field="name"] .fs-field-error')).to_contain_text("A hook named skip-pings exists")
    dialog.get_by_role("button", name="Cancel").click()

    # Broken code is saved as a draft and shown as a problem.
    entry_row(page, "hooks", "skip-pings").click()
    page.get_by_role("menuitem", name="Edit…").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_label("Code")).to_have_value("if (event.payload.text === 'ping') return false;")
    dialog.get_by_label("Code").fill("if (event.payload.text === 'ping' return false;")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator(".fs-problem.error", has_text="SyntaxError")).to_have_count(1)

    # Fixed and turned off: the row says so and the draft keeps it disabled.
    entry_row(page, "hooks", "skip-pings").click()
    page.get_by_role("menuitem", name="Edit…").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Code").fill("if (event.payload.text === 'ping') return false;")
    dialog.get_by_label("Enabled").uncheck()
    dialog.get_by_role("button", name="Save").click()
    expect(entry_row(page, "hooks", "skip-pings")).to_contain_text("(off)")
    expect(page.locator(".fs-problem.error", has_text="SyntaxError")).to_have_count(0)
    editor.saved()
    bot.refresh_from_db()
    assert bot.draft["hooks"][0]["enabled"] is False


def test_schedule_and_webhook_triggers_are_configured_in_the_inspector(editor, bot):
    from flows.models import Bot

    ed = editor
    node_id = ed.add_node(80, 420, "Trigger node")
    node = ed.node(node_id)
    ed.field("trigger.type").select_option("schedule")
    expect(ed.field("trigger.cron")).to_have_value("0 9 * * *")
    ed.field("trigger.cron").fill("")
    ed.type_into(ed.field("trigger.cron"), "0 9 * * 1-5")
    ed.type_into(ed.field("trigger.timezone"), "Europe/Paris")
    ed.field("next").select_option("hello")
    expect(node).to_contain_text("On schedule 0 9 * * 1-5 (Europe/Paris)")
    ed.saved()
    saved = next(n for n in Bot.objects.get(pk=bot.pk).draft["flows"][0]["nodes"] if n["id"] == node_id)
    assert saved["trigger"] == {"type": "schedule", "cron": "0 9 * * 1-5", "timezone": "Europe/Paris"}

    # A cron the server cannot read is a problem naming the field.
    ed.field("trigger.cron").fill("")
    ed.type_into(ed.field("trigger.cron"), "0 25 * * *")
    expect(ed.page.locator(".fs-problem.error", has_text="is not a cron expression")).to_have_count(1)

    # Webhook: the schedule's fields go, the proof of the secret can be chosen.
    ed.field("trigger.type").select_option("webhook")
    expect(ed.field("trigger.cron")).to_have_count(0)
    ed.field("trigger.auth").select_option("secret")
    expect(node).to_contain_text("On webhook")
    ed.saved()
    saved = next(n for n in Bot.objects.get(pk=bot.pk).draft["flows"][0]["nodes"] if n["id"] == node_id)
    assert saved["trigger"] == {"type": "webhook", "auth": "secret"}
    expect(ed.page.locator(".fs-problem.error", has_text="is not a cron expression")).to_have_count(0)
