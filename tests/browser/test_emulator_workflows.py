"""The order workflow of docs/workflows.md in the editor's emulator (issue 17's browser
acceptance): the builder chats with the draft, the run's header and form appear in the
panel, a missing field is named, a reload of the editor brings the pending form back, the
slow step shimmers and the run completes. The steps run in a real Celery worker.
Screenshots, light and dark, go to tests/browser/artifacts/."""
import pytest
from playwright.sync_api import expect

from flows import services as flow_services
from runtime.models import WorkflowRun

from .workflow_stack import ADDRESS, ARTIFACTS, order_bot_definition, workflow_stack

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def studio(django_db_setup, tmp_path_factory):
    with workflow_stack(tmp_path_factory.mktemp("workflow-stack")) as url:
        yield url


@pytest.fixture
def builder_page(browser, studio, make_user):
    """A page of an owner signed in by a session cookie on the workflow stack's server."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    user = make_user()
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    context = browser.new_context(base_url=studio, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": studio}])
    page = context.new_page()
    page.user = user
    yield page
    context.close()


def open_emulator(page, bot):
    page.goto(f"/bots/{bot.pk}/editor/")
    expect(page.locator("body[data-editor-ready=true]")).to_be_attached()
    if page.locator("#fs-emulator").is_hidden():
        page.keyboard.press("Control+e")
    expect(page.locator("#fs-emulator")).to_be_visible()
    return page.locator("#fs-emu-log")


def test_the_order_workflow_in_the_emulator(builder_page):
    page = builder_page
    bot = flow_services.import_bot(order_bot_definition(), workspace=page.user.workspace)
    log = open_emulator(page, bot)
    box = page.get_by_label("Message to the bot")
    box.fill("ann")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot:not([data-type=event])").first).to_have_text("Working on your order.")

    run = log.locator(".bpWorkflow")
    expect(run.locator(".bpWorkflowName")).to_have_text("orderWorkflow")
    expect(run.locator(".bpWorkflowStatus")).to_have_text("Waiting for your answer")
    # Progress is drawn, not dumped as JSON like the bot's other custom events.
    expect(log.locator(".fs-emu-event", has_text="WorkflowStarted")).to_have_count(0)
    order = log.get_by_role("form", name="Please provide the order ID.")
    order.get_by_role("textbox", name="Order id", exact=True).fill("ORD-5")
    order.get_by_role("button", name="Send").click()

    address = log.get_by_role("form", name="Where should we ship this?")
    expect(address.locator(".bpWorkflowLabel")).to_have_text(["Street*", "City*", "ZIP code*"])
    address.get_by_role("textbox", name="Street", exact=True).fill(ADDRESS["street"])
    address.get_by_role("button", name="Send").click()
    expect(address.locator(".bpWorkflowFieldError:not(:empty)")).to_have_text(
        ["City is required", "ZIP code is required"])
    expect(address.get_by_role("textbox", name="City", exact=True)).to_be_focused()
    assert WorkflowRun.objects.get(bot=bot).status == "paused"
    ARTIFACTS.mkdir(exist_ok=True)
    address.get_by_role("button", name="Send").scroll_into_view_if_needed()
    page.locator("#fs-emulator").screenshot(path=str(ARTIFACTS / "emulator-workflow-form-light.png"))

    # A reload of the editor: the emulator continues the conversation with the form pending.
    page.reload()
    log = open_emulator(page, bot)
    address = log.get_by_role("form", name="Where should we ship this?")
    expect(address).to_be_visible()
    expect(log.locator(".bpWorkflowForm")).to_have_count(1)
    for label, key in (("Street", "street"), ("City", "city"), ("ZIP code", "zip")):
        address.get_by_role("textbox", name=label, exact=True).fill(ADDRESS[key])
    address.get_by_role("textbox", name="ZIP code", exact=True).press("Enter")

    run = log.locator(".bpWorkflow")
    expect(run.locator(".bpWorkflowStep.bpWorkflowShimmer")).to_have_text("Processing the order")
    page.locator("#fs-emulator").screenshot(path=str(ARTIFACTS / "emulator-workflow-step-light.png"))
    expect(run.locator(".bpWorkflowDone")).to_have_text("orderWorkflow completed")
    expect(log.locator(".fs-emu-msg.bot:not([data-type=event])")).to_have_text(["Working on your order.", "50% complete", "Order processed"])
    assert WorkflowRun.objects.get(bot=bot).output == {"result": "ORD-5 to Springfield"}

    # The studio's dark theme: the finished run rebuilt from the history in its colours.
    page.evaluate("localStorage.setItem('flowstudio.theme', 'dark')")
    page.reload()
    log = open_emulator(page, bot)
    expect(log.locator(".bpWorkflowDone")).to_have_text("orderWorkflow completed")
    log.locator(".bpWorkflow").scroll_into_view_if_needed()
    page.locator("#fs-emulator").screenshot(path=str(ARTIFACTS / "emulator-workflow-completed-dark.png"))
