"""Workspaces, members, invitations and personal access tokens through the API."""
import pytest
from rest_framework.test import APIClient

from studio.people.models import Membership, PersonalAccessToken, Workspace
from studio.people.tokens import hash_token

pytestmark = pytest.mark.django_db


def test_list_create_rename_and_delete_workspaces(world, owner_client):
    listed = owner_client.get("/api/v1/workspaces").json()["workspaces"]
    assert [(w["slug"], w["role"]) for w in listed] == [("acme", "owner")]
    created = owner_client.post("/api/v1/workspaces", {"name": "Side project"}, format="json")
    assert created.status_code == 201 and created.json()["role"] == "owner"
    slug = created.json()["slug"]
    renamed = owner_client.patch(f"/api/v1/workspaces/{slug}", {"name": "Side"}, format="json").json()
    assert renamed["name"] == "Side"
    by_id = owner_client.get(f"/api/v1/workspaces/{created.json()['id']}")
    assert by_id.status_code == 200 and by_id.json()["slug"] == slug
    unconfirmed = owner_client.delete(f"/api/v1/workspaces/{slug}?confirmName=wrong")
    assert unconfirmed.status_code == 400
    assert unconfirmed.json()["error"]["details"][0]["path"] == "$query.confirmName"
    assert owner_client.delete(f"/api/v1/workspaces/{slug}?confirmName=Side").status_code == 204
    assert not Workspace.objects.filter(slug=slug).exists()


def test_a_viewer_sees_only_their_workspaces(world):
    listed = world.client("viewer").get("/api/v1/workspaces").json()["workspaces"]
    assert [(w["slug"], w["role"]) for w in listed] == [("acme", "viewer")]


def test_invite_change_role_and_remove(world):
    admin = world.client("administrator")
    base = f"/api/v1/workspaces/{world.workspace.slug}"
    invited = admin.post(f"{base}/invitations", {"email": "friend@example.com", "role": "manager"}, format="json")
    assert invited.status_code == 201
    body = invited.json()
    assert body["url"].startswith("http://testserver/") and body["role"] == "manager" and body["mailed"] is False
    pending = [i["email"] for i in admin.get(f"{base}/invitations").json()["invitations"]]
    assert "friend@example.com" in pending
    as_owner = admin.post(f"{base}/invitations", {"email": "x@example.com", "role": "owner"}, format="json")
    assert as_owner.status_code == 400 and as_owner.json()["error"]["details"][0]["path"] == "$.role"
    member_already = admin.post(f"{base}/invitations", {"email": "viewer@example.com", "role": "viewer"}, format="json")
    assert member_already.status_code == 400 and member_already.json()["error"]["details"][0]["path"] == "$.email"

    viewer_id = world.users["viewer"].pk
    changed = admin.patch(f"{base}/members/{viewer_id}", {"role": "developer"}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "developer"
    owner_id = world.users["owner"].pk
    assert admin.patch(f"{base}/members/{owner_id}", {"role": "viewer"}, format="json").status_code == 400
    refused = admin.delete(f"{base}/members/{owner_id}")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_removable"
    assert admin.delete(f"{base}/members/{viewer_id}").status_code == 204
    assert not Membership.objects.filter(workspace=world.workspace, user_id=viewer_id).exists()
    assert admin.get(f"{base}/members/{viewer_id}").status_code == 404
    # The change is enforced at once: the removed member's token no longer reaches the bot.
    assert world.client("viewer").get(f"/api/v1/bots/{world.bot.pk}").status_code == 404


def test_tokens_are_shown_once_stored_hashed_and_revocable(world, owner_client):
    created = owner_client.post("/api/v1/tokens", {"note": "CI"}, format="json")
    assert created.status_code == 201
    raw = created.json()["token"]
    stored = PersonalAccessToken.objects.get(pk=created.json()["id"])
    assert stored.token_hash == hash_token(raw) and raw not in stored.token_hash
    listed = owner_client.get("/api/v1/tokens").json()["tokens"]
    assert all("token" not in token for token in listed)
    assert raw not in owner_client.get("/api/v1/tokens").content.decode()

    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert fresh.get(f"/api/v1/bots/{world.bot.pk}").status_code == 200
    assert owner_client.delete(f"/api/v1/tokens/{stored.pk}").status_code == 204
    revoked = fresh.get(f"/api/v1/bots/{world.bot.pk}")
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "authentication_failed"


def test_nobody_sees_or_revokes_someone_elses_token(world):
    theirs = PersonalAccessToken.objects.filter(user=world.users["viewer"]).first()
    outsider = world.client("outsider")
    assert outsider.get(f"/api/v1/tokens/{theirs.pk}").status_code == 404
    assert outsider.delete(f"/api/v1/tokens/{theirs.pk}").status_code == 404
    assert PersonalAccessToken.objects.get(pk=theirs.pk).revoked_at is None


def test_session_auth_works_and_needs_csrf_for_writes(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.users["owner"])
    assert client.get(f"/api/v1/bots/{world.bot.pk}").status_code == 200
    refused = client.patch(f"/api/v1/bots/{world.bot.pk}", {"name": "x"}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]


def test_the_audit_log_filters(world, owner_client):
    owner_client.post(f"/api/v1/bots/{world.bot.pk}/versions", {"note": "n"}, format="json")
    entries = owner_client.get(f"/api/v1/workspaces/{world.workspace.slug}/audit?action=bot.publish").json()["entries"]
    assert entries and all(entry["action"] == "bot.publish" for entry in entries)
    assert entries[0]["actor"]["email"] == "owner@example.com" and entries[0]["targetId"] == str(world.bot.pk)
