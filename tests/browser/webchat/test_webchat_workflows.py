"""The order workflow of docs/workflows.md in the widget on a customer's page (issue 17's
browser acceptance): the run's header, the shimmer while a step runs, the form built from
the request's dataPoints with its validation (the client's own check names the missing field,
the server's schema check answers what only it knows), a reload mid-run that brings the
pending form back, the progress the bot relays, and the completion line. The steps run in a
real Celery worker. Screenshots, light and dark, go to tests/browser/artifacts/."""
import pytest
from playwright.sync_api import expect

from runtime.models import WorkflowRun

from ..workflow_stack import ADDRESS, ARTIFACTS, order_bot_definition, workflow_stack
from .webchat_pages import bot_bubbles, events, host_page, publish_bot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def studio(django_db_setup, tmp_path_factory):
    with workflow_stack(tmp_path_factory.mktemp("workflow-stack")) as url:
        yield url


def order_bot(origin):
    definition = order_bot_definition()
    workflow = next(f for f in definition["flows"] if f["name"] == "orderWorkflow")
    # A rule only the server's schema check knows (not in the dataPoints): the client sends
    # the value and shows the server's answer under the field.
    workflow["requests"]["shippingAddress"]["properties"]["zip"]["not"] = {"const": "00000"}
    return publish_bot(definition, allowed_origins=[origin])


def open_widget(page):
    page.locator(".bpFab").click()
    expect(page.locator(".bpWebchat")).to_be_visible()


def test_the_order_workflow_in_the_widget(page, studio, host_pages):
    bot = order_bot(host_pages.origin)
    url = host_pages.add(host_page(studio, bot))
    page.goto(url)
    open_widget(page)
    page.locator(".bpComposerInput").fill("ann")
    page.locator(".bpComposerInput").press("Enter")
    expect(bot_bubbles(page).first).to_have_text("Working on your order.")

    run = page.locator(".bpWorkflow")
    expect(run.locator(".bpWorkflowName")).to_have_text("orderWorkflow")
    expect(run.locator(".bpWorkflowStatus")).to_have_text("Waiting for your answer")
    form = run.locator("form.bpWorkflowForm")
    expect(form.locator(".bpWorkflowPrompt")).to_have_text("Please provide the order ID.")
    # The form is named by its prompt and each field by its label (screen readers say both).
    expect(page.get_by_role("form", name="Please provide the order ID.")).to_be_visible()
    order_id = page.get_by_role("textbox", name="Order id", exact=True)
    expect(order_id).to_have_attribute("aria-required", "true")

    # Empty: the client names the field and sends nothing.
    form.get_by_role("button", name="Send").click()
    expect(form.locator(".bpWorkflowFieldError:not(:empty)")).to_have_text(["Order id is required"])
    expect(order_id).to_have_attribute("aria-invalid", "true")
    expect(order_id).to_be_focused()
    # By keyboard: type, Enter submits.
    order_id.fill("ORD-7")
    order_id.press("Enter")

    address = page.get_by_role("form", name="Where should we ship this?")
    expect(address.locator(".bpWorkflowLabel")).to_have_text(["Street*", "City*", "ZIP code*"])
    assert WorkflowRun.objects.get(bot=bot).status == "paused"

    # A reload mid-run: the pending form is back (from activeWorkflows and the replay).
    page.reload()
    open_widget(page)
    address = page.get_by_role("form", name="Where should we ship this?")
    expect(address).to_be_visible()
    expect(page.locator(".bpWorkflowForm")).to_have_count(1)  # the answered step's form is gone

    address.get_by_role("textbox", name="Street", exact=True).fill(ADDRESS["street"])
    address.get_by_role("textbox", name="City", exact=True).fill(ADDRESS["city"])
    address.get_by_role("button", name="Send").click()
    zip_code = address.get_by_role("textbox", name="ZIP code", exact=True)
    expect(address.locator(".bpWorkflowFieldError:not(:empty)")).to_have_text(["ZIP code is required"])
    expect(zip_code).to_be_focused()
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".bpWebchat").screenshot(path=str(ARTIFACTS / "webchat-workflow-form-light.png"))

    zip_code.fill("0000")
    zip_code.press("Enter")
    expect(address.locator(".bpWorkflowFieldError:not(:empty)")).to_have_text(["ZIP code is not in the expected format"])
    # The server's own rule: its answer, naming the field, under the field; the run waits.
    zip_code.fill("00000")
    zip_code.press("Enter")
    expect(address.locator(".bpWorkflowFieldError:not(:empty)")).to_contain_text("ZIP code: ")
    expect(zip_code).to_have_attribute("aria-invalid", "true")
    assert WorkflowRun.objects.get(bot=bot).status == "paused"
    expect(page.locator(".bpErrorContainer")).to_be_hidden()  # the refusal is the form's, not the chat's

    # Sending disables the form until the next step takes it away.
    page.evaluate("""() => {
      const root = document.querySelector('#bp-web-widget-container').shadowRoot;
      const form = root.querySelector('.bpWorkflowForm');
      form.addEventListener('submit', () => setTimeout(() => {
        window.__sending = {disabled: form.querySelector('fieldset').disabled,
                            busy: form.getAttribute('aria-busy'),
                            label: form.querySelector('.bpWorkflowSubmit').textContent};
      }, 0));
    }""")
    zip_code.fill(ADDRESS["zip"])
    zip_code.press("Enter")
    page.wait_for_function("window.__sending")
    assert page.evaluate("window.__sending") == {"disabled": True, "busy": "true", "label": "Sending…"}

    # The slow process step shimmers with its message, announced by a polite live region.
    step = run.locator(".bpWorkflowStep.bpWorkflowShimmer")
    expect(step).to_have_text("Processing the order")
    page.locator(".bpWebchat").screenshot(path=str(ARTIFACTS / "webchat-workflow-step-light.png"))
    expect(run.locator(".bpWorkflowProgress")).to_have_attribute("aria-live", "polite")
    expect(page.locator(".bpWorkflowForm")).to_have_count(0)
    expect(bot_bubbles(page)).to_contain_text(["50% complete"])

    expect(run.locator(".bpWorkflowDone")).to_have_text("orderWorkflow completed")
    expect(run.locator(".bpWorkflowStatus")).to_have_text("Completed")
    expect(step).to_have_count(0)
    expect(bot_bubbles(page)).to_have_text(["Working on your order.", "50% complete", "Order processed"])
    assert WorkflowRun.objects.get(bot=bot).output == {"result": "ORD-7 to Springfield"}
    # The page heard the live progress.
    kinds = [e["data"]["type"] for e in events(page, "workflow")]
    assert kinds[-1] == "WorkflowCompleted" and "WorkflowStepStarted" in kinds
    page.locator(".bpWebchat").screenshot(path=str(ARTIFACTS / "webchat-workflow-completed-light.png"))

    # The same conversation in the dark theme: the history rebuilds the finished run.
    dark = page.context.new_page()
    dark.goto(host_pages.add(host_page(studio, bot, settings={"configuration": {"themeMode": "dark"}})))
    open_widget(dark)
    expect(dark.locator(".bpWorkflowDone")).to_have_text("orderWorkflow completed")
    dark.locator(".bpWebchat").screenshot(path=str(ARTIFACTS / "webchat-workflow-completed-dark.png"))
    dark.close()


def test_a_failed_step_offers_a_retry(page, studio, host_pages):
    definition = order_bot_definition()
    workflow = next(f for f in definition["flows"] if f["name"] == "orderWorkflow")
    process = next(n for n in workflow["nodes"] if n["id"] == "process")
    process["cards"] = [{"id": "work", "type": "code", "code": "throw new Error('warehouse offline');"}]
    bot = publish_bot(definition, allowed_origins=[host_pages.origin])
    page.goto(host_pages.add(host_page(studio, bot)))
    open_widget(page)
    page.locator(".bpComposerInput").fill("ann")
    page.locator(".bpComposerInput").press("Enter")
    page.get_by_role("textbox", name="Order id", exact=True).fill("ORD-2")
    page.get_by_role("textbox", name="Order id", exact=True).press("Enter")
    address = page.get_by_role("form", name="Where should we ship this?")
    for label, key in (("Street", "street"), ("City", "city"), ("ZIP code", "zip")):
        address.get_by_role("textbox", name=label, exact=True).fill(ADDRESS[key])
    address.get_by_role("textbox", name="ZIP code", exact=True).press("Enter")

    run = page.locator(".bpWorkflow")
    failure = run.get_by_role("alert")
    expect(failure).to_contain_text('The step "Processing the order" failed: ')
    expect(failure).to_contain_text("warehouse offline")
    expect(run.locator(".bpWorkflowStatus")).to_have_text("Step failed")
    page.locator(".bpWebchat").screenshot(path=str(ARTIFACTS / "webchat-workflow-failed-light.png"))
    # Keyboard: focus the button, Enter. The step runs again (and fails again).
    retry = run.get_by_role("button", name="Try again")
    retry.focus()
    retry.press("Enter")
    page.wait_for_function("""() => window.__events.filter(e => e.name === 'workflow'
        && e.data.type === 'WorkflowStepStarted' && e.data.retry).length === 1""")
    expect(run.get_by_role("button", name="Try again")).to_be_enabled()
    run_row = WorkflowRun.objects.get(bot=bot)
    assert run_row.status == "failed" and run_row.steps.get(node="process").attempts >= 2


SIGNUP_SCHEMA = {"type": "object", "required": ["email", "age", "plan", "start"], "properties": {
    "email": {"type": "string", "format": "email", "title": "Email"},
    "age": {"type": "integer", "minimum": 18, "title": "Age"},
    "plan": {"enum": ["basic", "pro", 3], "title": "Plan"},
    "start": {"type": "string", "format": "date", "title": "Start date"},
    "newsletter": {"type": "boolean", "title": "Send me the newsletter", "description": "About once a month."},
}}


def signup_bot(origin):
    definition = order_bot_definition()
    main = next(f for f in definition["flows"] if f["name"] == "main")
    main["nodes"][1]["cards"][0].update(workflow="signup", inputs={})
    definition["flows"].append({
        "name": "signup", "kind": "workflow", "requests": {"details": SIGNUP_SCHEMA}, "variables": [],
        "nodes": [{"id": "entry", "kind": "entry", "next": "ask"},
                  {"id": "ask", "kind": "standard", "message": "Collecting your details", "next": "done",
                   "cards": [{"id": "req", "type": "workflowRequest", "request": "details",
                              "message": "A few details, please.", "variable": "workflow.details"}]},
                  {"id": "done", "kind": "exit"}]})
    return publish_bot(definition, allowed_origins=[origin])


def test_every_field_type_of_a_form(page, studio, host_pages):
    bot = signup_bot(host_pages.origin)
    page.goto(host_pages.add(host_page(studio, bot)))
    open_widget(page)
    page.locator(".bpComposerInput").fill("hi")
    page.locator(".bpComposerInput").press("Enter")
    form = page.get_by_role("form", name="A few details, please.")
    expect(form.locator(".bpWorkflowField")).to_have_count(5)
    assert form.locator(".bpWorkflowField").evaluate_all("els => els.map(e => e.dataset.type)") == [
        "Email", "Number", "Select", "Date", "Boolean"]
    email = form.get_by_role("textbox", name="Email", exact=True)
    age = form.get_by_role("spinbutton", name="Age", exact=True)
    plan = form.get_by_role("combobox", name="Plan", exact=True)
    start = form.locator("input[type=date]")
    newsletter = form.get_by_role("checkbox", name="Send me the newsletter")
    expect(plan.locator("option")).to_have_text(["Choose…", "basic", "pro", "3"])
    expect(newsletter).to_have_accessible_description("About once a month.")

    form.get_by_role("button", name="Send").click()
    expect(form.locator(".bpWorkflowFieldError:not(:empty)")).to_have_text(
        ["Email is required", "Age is required", "Choose Plan", "Start date is required"])
    email.fill("ada@example")
    age.fill("17")
    plan.select_option(label="3")
    start.fill("2026-12-24")
    form.get_by_role("button", name="Send").click()
    expect(form.locator(".bpWorkflowFieldError:not(:empty)")).to_have_text(
        ["Email must be an email address", "Age must be at least 18"])
    expect(email).to_have_accessible_description("Email must be an email address")
    email.fill("ada@example.com")
    age.fill("36")
    newsletter.check()
    form.get_by_role("button", name="Send").click()

    expect(page.locator(".bpWorkflowDone")).to_have_text("signup completed")
    step = WorkflowRun.objects.get(bot=bot).steps.get(node="ask")
    # Values keep their JSON types: a number, the option's own value, a boolean.
    assert step.provided == {"request": "details", "data": {
        "email": "ada@example.com", "age": 36, "plan": 3, "start": "2026-12-24", "newsletter": True}}
