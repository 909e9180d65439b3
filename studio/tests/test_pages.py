"""The studio pages through Django's test client: what a user sees and what gets stored."""
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from flows import services
from flows.models import Bot
from studio.people import tokens, workspaces
from studio.people.models import AuditEntry, Membership, Profile, Role, Workspace

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def ann(django_user_model):
    user = django_user_model.objects.create_user("ann@example.com", "ann@example.com", "a-long-pass-phrase-1")
    user.workspace = workspaces.create_workspace(user, "Acme")
    return user


@pytest.fixture
def signed_in(client, ann):
    client.force_login(ann)
    return client


def text(response):
    return response.content.decode()


def test_sign_up_makes_a_default_workspace_and_home_goes_there(client):
    response = client.post("/accounts/signup/", {"name": "Zoe", "email": "Zoe@Example.com", "password": "a-long-pass-phrase-1"})
    assert response.status_code == 302
    user = get_user_model().objects.get()
    assert (user.email, user.username, user.first_name) == ("zoe@example.com", "zoe@example.com", "Zoe")
    membership = Membership.objects.get(user=user)
    assert (membership.workspace.name, membership.role) == ("Zoe's workspace", Role.OWNER)
    home = client.get("/")
    assert home["Location"] == f"/w/{membership.workspace.slug}/"
    assert client.get(home["Location"]).status_code == 200


@pytest.mark.parametrize(
    "email,password,error",
    [
        ("ann@example.com", "a-long-pass-phrase-1", "already exists"),
        ("new@example.com", "short", "too short"),
        ("new@example.com", "password123", "too common"),
    ],
)
def test_sign_up_refusals(client, ann, email, password, error):
    response = client.post("/accounts/signup/", {"email": email, "password": password})
    assert response.status_code == 200 and error in text(response)
    assert get_user_model().objects.count() == 1


def test_log_in_by_email_any_case_and_out(client, ann):
    assert client.get("/")["Location"] == "/accounts/login/"
    bad = client.post("/accounts/login/", {"username": "ann@example.com", "password": "nope"})
    assert "do not match" in text(bad)
    good = client.post("/accounts/login/", {"username": "ANN@example.com", "password": "a-long-pass-phrase-1"})
    assert good.status_code == 302
    assert client.get("/")["Location"] == "/w/acme/"
    assert client.get("/accounts/logout/").status_code == 405  # a link cannot log you out
    client.post("/accounts/logout/")
    assert client.get("/")["Location"] == "/accounts/login/"


def test_password_change_keeps_the_session(signed_in, ann):
    response = signed_in.post("/accounts/password/", {
        "old_password": "a-long-pass-phrase-1", "new_password1": "brand-new-phrase-22", "new_password2": "brand-new-phrase-22",
    })
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.check_password("brand-new-phrase-22")
    assert signed_in.get("/accounts/profile/").status_code == 200


def test_home_without_workspaces_offers_to_make_one(client, ann):
    workspaces.delete_workspace(ann.workspace, actor=ann, confirm_name="Acme")
    client.force_login(ann)
    assert client.get("/")["Location"] == "/workspaces/new/"
    response = client.post("/workspaces/new/", {"name": "Fresh start"})
    assert response["Location"] == "/w/fresh-start/"


def test_home_remembers_the_last_workspace(signed_in, ann):
    other = workspaces.create_workspace(ann, "Zeta")
    signed_in.get(f"/w/{other.slug}/members/")
    assert signed_in.get("/")["Location"] == "/w/zeta/"


def test_profile_name_and_avatar(signed_in, ann, settings):
    response = signed_in.post("/accounts/profile/", {"display_name": "Ann A.", "avatar": SimpleUploadedFile("me.png", PNG, "image/png")})
    assert response.status_code == 302
    avatar = signed_in.get(f"/accounts/avatar/{ann.pk}/")
    assert avatar["Content-Type"] == "image/png" and avatar.content == PNG
    assert "Ann A." in text(signed_in.get("/w/acme/members/"))

    settings.FLOWSTUDIO_AVATAR_MAX_BYTES = 32
    big = signed_in.post("/accounts/profile/", {"display_name": "x", "avatar": SimpleUploadedFile("big.png", PNG, "image/png")})
    assert "the image is larger than 32 bytes, the limit" in text(big)
    settings.FLOWSTUDIO_AVATAR_MAX_BYTES = 512 * 1024
    fake = signed_in.post("/accounts/profile/", {"display_name": "x", "avatar": SimpleUploadedFile("x.png", b"<svg/>", "image/png")})
    assert "only PNG, JPEG or GIF" in text(fake)
    bad_url = signed_in.post("/accounts/profile/", {"display_name": "x", "avatar_url": "javascript:alert(1)"})
    assert "is not an http(s) URL" in text(bad_url)
    profile = Profile.objects.get(user=ann)
    assert (profile.display_name, bytes(profile.avatar_data)) == ("Ann A.", PNG)  # refused saves changed nothing

    signed_in.post("/accounts/profile/", {"display_name": "Ann A.", "clear_avatar": "on"})
    assert signed_in.get(f"/accounts/avatar/{ann.pk}/").status_code == 404


def test_create_import_export_delete_bots(signed_in, ann):
    created = signed_in.post("/w/acme/bots/new/", {"name": "Helper", "description": "Says hi"})
    bot = Bot.objects.get(name="Helper")
    assert created["Location"] == f"/bots/{bot.pk}/editor/"  # straight to the canvas
    assert bot.created_by == ann
    page = text(signed_in.get(f"/bots/{bot.pk}/"))
    assert "Says hi" in page and f"/bots/{bot.pk}/editor/" in page

    exported = signed_in.get(f"/bots/{bot.pk}/export/")
    assert exported["Content-Disposition"] == 'attachment; filename="helper.bot.json"'
    document = json.loads(exported.content)
    assert document["name"] == "Helper"

    document["name"] = "Helper copy"
    imported = signed_in.post("/w/acme/bots/import/", {"file": SimpleUploadedFile("h.bot.json", json.dumps(document).encode())})
    copy = Bot.objects.get(name="Helper copy")
    assert imported["Location"] == f"/bots/{copy.pk}/"

    deleted = signed_in.post(f"/bots/{copy.pk}/delete/")
    assert deleted["Location"] == "/w/acme/" and not Bot.objects.filter(pk=copy.pk).exists()


def test_import_shows_every_problem_with_its_json_path(signed_in):
    broken = {"format": "flowstudio.bot/1", "name": "", "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "nowhere"}]}]}
    response = signed_in.post("/w/acme/bots/import/", {"file": SimpleUploadedFile("b.bot.json", json.dumps(broken).encode())})
    assert response.status_code == 400
    page = text(response)
    assert "b.bot.json was not imported" in page
    assert "<code>$.name</code>" in page
    assert "<code>$.flows[0].nodes[0].next</code>" in page
    assert not Bot.objects.exists()
    binary = signed_in.post("/w/acme/bots/import/", {"file": SimpleUploadedFile("x.bot.json", b"\xff\xfe\x00bad")})
    assert "x.bot.json: the file is not UTF-8 text" in text(binary)
    not_json = signed_in.post("/w/acme/bots/import/", {"file": SimpleUploadedFile("y.bot.json", b"{nope")})
    assert not_json.status_code == 400 and "<code>$</code>" in text(not_json)
    assert not Bot.objects.exists()


def test_the_new_bot_dialog_offers_the_templates_and_makes_the_chosen_one(signed_in, ann):
    page = text(signed_in.get("/w/acme/"))
    for title in ("Blank", "Lead capture", "FAQ", "FAQ with a knowledge base", "AI assistant"):
        assert f'<span class="template-title">{title}</span>' in page
    assert "Needs an LLM provider: this workspace has none yet" in page  # said before anyone picks it

    signed_in.post("/w/acme/bots/new/", {"name": "Leads", "template": "lead-capture"})
    leads = Bot.objects.get(name="Leads")
    assert [v["name"] for v in leads.draft["variables"]] == ["name", "email", "company"]
    assert leads.draft["tests"], "the template's conversation tests come with it"

    refused = signed_in.post("/w/acme/bots/new/", {"name": "", "template": "faq"})
    assert refused.status_code == 400 and "data-open" in text(refused)  # the dialog opens again with the error
    assert 'value="faq" checked' in text(refused)


def test_the_ai_template_does_not_warn_when_the_workspace_has_a_provider(signed_in, ann):
    from integrations.llm.services import save_provider
    save_provider(ann.workspace, {"name": "acme", "base_url": "https://llm.example.com/v1", "api_key": "k",
                                  "models": [{"id": "m", "label": "Fast"}], "default_model": "Fast"})
    page = text(signed_in.get("/w/acme/"))
    assert "Needs an LLM provider" not in page and "Uses the workspace's language model." in page


def test_rename_and_delete_workspace(signed_in, ann):
    services.create_bot(ann.workspace, name="Helper", user=ann)
    signed_in.post("/w/acme/settings/rename/", {"name": "Acme Corp"})
    assert Workspace.objects.get(slug="acme").name == "Acme Corp"
    wrong = signed_in.post("/w/acme/settings/delete/", {"confirm_name": "acme corp"})
    assert wrong.status_code == 400 and "type the workspace&#x27;s name (Acme Corp) to confirm" in text(wrong)
    assert Workspace.objects.filter(slug="acme").exists()
    signed_in.post("/w/acme/settings/delete/", {"confirm_name": "Acme Corp"})
    assert not Workspace.objects.exists() and not Bot.objects.exists()


def test_invitation_link_shown_once_and_accepted_by_a_new_person(signed_in, client, ann):
    response = signed_in.post("/w/acme/members/invite/", {"email": "bob@example.com", "role": "manager"})
    page = text(response)
    assert "No mail server is configured" in page
    link = page.split('id="invitation-url" type="text" readonly value="')[1].split('"')[0]
    path = link.split("testserver", 1)[1]
    assert path.startswith("/invitations/")
    assert path not in text(signed_in.get("/w/acme/members/"))  # only the hash is kept

    signed_in.logout()
    join = client.get(path)
    assert "Join Acme" in text(join) and 'value="bob@example.com"' in text(join)
    joined = client.post(path, {"name": "Bob", "email": "bob@example.com", "password": "bobs-long-password-1"})
    assert joined["Location"] == "/w/acme/"
    bob = get_user_model().objects.get(email="bob@example.com")
    assert [(m.workspace.slug, m.role) for m in Membership.objects.filter(user=bob)] == [("acme", Role.MANAGER)]
    assert client.get(path).status_code == 410


def test_invitation_pages_for_bad_links(client, ann):
    assert client.get("/invitations/not-a-real-token/").status_code == 404
    issued = workspaces.invite(ann.workspace, "bob@example.com", Role.VIEWER, invited_by=ann)
    issued.invitation.expires_at = timezone.now() - timedelta(minutes=1)
    issued.invitation.save()
    expired = client.get(issued.path)
    assert expired.status_code == 410 and "Invitation expired" in text(expired)
    # An invited person cannot sign up under another address through the link.
    issued.invitation.expires_at = timezone.now() + timedelta(days=1)
    issued.invitation.save()
    client.post(issued.path, {"email": "eve@example.com", "password": "eves-long-password-1"})
    assert not get_user_model().objects.filter(email="eve@example.com").exists()


def test_role_change_over_htmx_returns_the_row(signed_in, ann, django_user_model):
    bob = django_user_model.objects.create_user("bob@example.com", "bob@example.com")
    membership = Membership.objects.create(workspace=ann.workspace, user=bob, role=Role.VIEWER)
    response = signed_in.post(f"/w/acme/members/{membership.pk}/role/", {"role": "developer"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = text(response)
    assert page.lstrip().startswith("<tr") and "Saved" in page
    refused = signed_in.post(f"/w/acme/members/{membership.pk}/role/", {"role": "owner"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert Membership.objects.get(pk=membership.pk).role == Role.DEVELOPER


def test_token_page_shows_the_token_once(signed_in, ann):
    created = signed_in.post("/tokens/", {"note": "CI"})
    raw = text(created).split('id="new-token" type="text" readonly value="')[1].split('"')[0]
    assert raw.startswith("fs_pat_")
    listing = text(signed_in.get("/tokens/"))
    assert "CI" in listing and raw not in listing and raw[:11] in listing
    token = ann.access_tokens.get()
    signed_in.post(f"/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert tokens.user_for_token(raw) == (None, None)
    assert "Copy your new token" not in text(signed_in.post("/tokens/", {"note": ""}))


def test_audit_filters(signed_in, ann, django_user_model):
    bob = django_user_model.objects.create_user("bob@example.com", "bob@example.com")
    Membership.objects.create(workspace=ann.workspace, user=bob, role=Role.MANAGER)
    services.create_bot(ann.workspace, name="By Ann", user=ann)
    services.create_bot(ann.workspace, name="By Bob", user=bob)
    old = AuditEntry.objects.get(target_repr="By Bob")
    old.created_at = timezone.now() - timedelta(days=10)
    old.save()

    def rows(**query):
        response = signed_in.get("/w/acme/audit/", query)
        assert response.status_code == 200
        return text(response).count("<tr data-action=")

    assert rows() == 3  # workspace.create + two bot.create
    assert rows(actor=bob.pk) == 1
    assert rows(action="bot.create") == 2
    assert rows(action="bot.create", since=(timezone.now() - timedelta(days=2)).date().isoformat()) == 1
    assert rows(until=(timezone.now() - timedelta(days=5)).date().isoformat()) == 1
    assert rows(actor="999999") == 0  # not an actor of this workspace: no rows, not an error
    partial = signed_in.get("/w/acme/audit/", {"action": "bot.create"}, HTTP_HX_REQUEST="true")
    assert "<html" not in text(partial) and text(partial).count("<tr data-action=") == 2
