"""The acceptance walk of issue 4 in Chromium: sign up, create a workspace, invite a second
person, who accepts in a second browser context; their role changes and the change shows and
is enforced."""
import re

import pytest
from playwright.sync_api import expect

from flows.models import Bot
from studio.people.models import AuditEntry, Membership, Role

pytestmark = pytest.mark.browser


def sign_up(page, name, email, password="a-long-pass-phrase-1"):
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign up").click()


def csrf_post(page, url, form):
    """A POST as the page's user would send it (session cookie and CSRF token), without a form."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return page.request.post(url, form=form, headers={"X-CSRFToken": token}, max_redirects=0)


def test_invite_accept_change_role_enforced(new_context):
    ann_page = new_context().new_page()
    sign_up(ann_page, "Ann Owner", "ann@example.com")
    expect(ann_page).to_have_url(re.compile(r"/w/ann-owners-workspace/$"))
    expect(ann_page.get_by_test_id("my-role")).to_have_text("Owner")

    # A second workspace, through the switcher.
    ann_page.get_by_test_id("workspace-switcher").locator("summary").click()
    ann_page.get_by_role("link", name="+ New workspace").click()
    ann_page.get_by_label("Name").fill("Support Team")
    ann_page.get_by_role("button", name="Create workspace").click()
    expect(ann_page).to_have_url(re.compile(r"/w/support-team/$"))
    expect(ann_page.get_by_role("heading", level=1)).to_have_text("Support Team")
    ann_page.get_by_role("button", name="New bot").click()
    ann_page.get_by_label("Name", exact=True).fill("Helpdesk")
    ann_page.get_by_role("button", name="Create bot").click()
    expect(ann_page).to_have_url(re.compile(r"/editor/$"))  # a new bot opens in the editor
    ann_page.goto("/w/support-team/")

    # Invite Bob as a developer: the link is shown (no mail server here).
    ann_page.get_by_role("link", name="Members").click()
    ann_page.get_by_label("Email").fill("bob@example.com")
    ann_page.get_by_label("Role").select_option("developer")
    ann_page.get_by_role("button", name="Invite").click()
    link = ann_page.locator("#invitation-url")
    expect(link).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/invitations/[\w-]{40,}/$"))
    invitation_url = link.input_value()
    expect(ann_page.get_by_test_id("invitations")).to_contain_text("bob@example.com")

    # Bob, in another browser context, opens the link and signs up as the invited address.
    bob_page = new_context().new_page()
    bob_page.goto(invitation_url)
    expect(bob_page.get_by_role("heading", level=1)).to_have_text("Join Support Team")
    expect(bob_page.get_by_label("Email")).to_have_value("bob@example.com")
    bob_page.get_by_label("Your name").fill("Bob Builder")
    bob_page.get_by_label("Password").fill("another-long-pass-2")
    bob_page.get_by_role("button", name="Create account and join").click()
    expect(bob_page).to_have_url(re.compile(r"/w/support-team/$"))
    expect(bob_page.get_by_test_id("my-role")).to_have_text("Developer")
    # A developer creates bots, and cannot delete one they did not create.
    expect(bob_page.get_by_role("button", name="New bot")).to_be_visible()
    helpdesk_row = bob_page.get_by_test_id("bots").get_by_role("row", name=re.compile("Helpdesk"))
    expect(helpdesk_row.get_by_role("button", name="Delete")).to_have_count(0)
    # Only the invited workspace: joining by invitation makes no default workspace.
    assert [m.workspace.slug for m in Membership.objects.filter(user__email="bob@example.com")] == ["support-team"]

    # Ann sees Bob and makes him a viewer (htmx posts the select's change).
    ann_page.reload()
    bob_row = ann_page.locator("tr[data-email='bob@example.com']")
    expect(bob_row).to_contain_text("Bob Builder")
    bob_row.get_by_label("Role of bob@example.com").select_option("viewer")
    expect(bob_row.get_by_test_id("role-saved")).to_be_visible()
    expect(bob_row.locator("select")).to_have_value("viewer")
    assert Membership.objects.get(user__email="bob@example.com").role == Role.VIEWER

    # Bob still has the old page open: submitting its Create bot form is refused.
    bob_page.get_by_role("button", name="New bot").click()
    bob_page.get_by_label("Name", exact=True).fill("Sneaky")
    bob_page.get_by_role("button", name="Create bot").click()
    expect(bob_page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    assert not Bot.objects.filter(name="Sneaky").exists()
    # Reloaded, the page no longer offers edit controls, and a hand-made POST is refused too.
    bob_page.goto("/w/support-team/")
    expect(bob_page.get_by_test_id("my-role")).to_have_text("Viewer")
    expect(bob_page.get_by_role("button", name="New bot")).to_have_count(0)
    expect(bob_page.get_by_role("button", name="Import")).to_have_count(0)
    bob_page.get_by_role("link", name="Helpdesk").click()
    expect(bob_page.get_by_role("link", name="View in editor")).to_be_visible()
    expect(bob_page.get_by_role("button", name="Delete")).to_have_count(0)
    helpdesk = Bot.objects.get(name="Helpdesk")
    refused = csrf_post(bob_page, f"/bots/{helpdesk.pk}/delete/", {})
    assert refused.status == 403 and "does not allow" in refused.text()
    assert Bot.objects.filter(pk=helpdesk.pk).exists()
    # No audit log for viewers, and not in the nav either.
    expect(bob_page.get_by_role("link", name="Audit log")).to_have_count(0)
    assert bob_page.request.get("/w/support-team/audit/").status == 403

    # Ann's audit log tells the story.
    ann_page.get_by_role("link", name="Audit log").click()
    audit = ann_page.get_by_test_id("audit")
    for action in ("workspace.create", "bot.create", "member.invite", "member.join", "member.role_change"):
        expect(audit.locator(f"tr[data-action='{action}']")).to_have_count(1)
    ann_page.get_by_label("Action").select_option("member.role_change")
    expect(audit.locator("tbody tr")).to_have_count(1)
    expect(audit).to_contain_text("developer")
    expect(ann_page).to_have_url(re.compile(r"action=member.role_change"))
    assert AuditEntry.objects.filter(action="member.role_change", workspace__slug="support-team").count() == 1

    # Remove Bob: his next page load is a 404, as for any stranger.
    ann_page.get_by_role("link", name="Members").click()
    ann_page.once("dialog", lambda dialog: dialog.accept())
    ann_page.locator("tr[data-email='bob@example.com']").get_by_role("button", name="Remove").click()
    expect(ann_page.locator("tr[data-email='bob@example.com']")).to_have_count(0)
    assert bob_page.goto("/w/support-team/").status == 404
    assert bob_page.goto(f"/bots/{helpdesk.pk}/").status == 404


def test_accepting_while_signed_in_as_someone_else(new_context, make_user, login):
    ann = make_user(email="ann@example.com")
    carol = make_user(email="carol@example.com")
    from studio.people.workspaces import invite

    issued = invite(ann.workspace, "carol@example.com", Role.MANAGER, invited_by=ann)
    dave = make_user(email="dave@example.com")
    page = new_context().new_page()
    login(page, dave)
    page.goto(issued.path)
    expect(page.locator("[data-error-message]")).to_contain_text("You are signed in as dave@example.com, but this invitation is for carol@example.com")
    page.get_by_role("button", name="Log out").click()
    # Back on the link, signed out: Carol has an account, so she is asked to log in.
    expect(page.get_by_role("link", name="Log in to accept")).to_be_visible()
    page.get_by_role("link", name="Log in to accept").click()
    page.get_by_label("Email").fill("carol@example.com")
    page.get_by_label("Password").fill(carol.password_plain)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(issued.path) + "$"))
    page.get_by_role("button", name="Accept invitation").click()
    expect(page.get_by_test_id("my-role")).to_have_text("Manager")
    # The link is spent.
    assert page.goto(issued.path).status == 410
