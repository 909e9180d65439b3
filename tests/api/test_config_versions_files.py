"""Configuration variables (values write-only, encrypted, never in any response or the audit
log), versions (publish, list, get, restore, diff) and bot files (import, export)."""
import json

import pytest

from flows.models import ConfigValue
from studio.people.models import AuditEntry
from tests.api.conftest import bot_file

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-value-that-must-not-leak"


def _url(world, tail=""):
    return f"/api/v1/bots/{world.bot.pk}{tail}"


def _every_response_text(client, world) -> str:
    texts = []
    for tail in ("", "/config", "/config/API_KEY", "/definition", "/export", "/versions", "/versions/1",
                 "/variables", "/flows"):
        texts.append(client.get(_url(world, tail)).content.decode())
    texts.append(client.get(f"/api/v1/workspaces/{world.workspace.slug}/audit").content.decode())
    return "\n".join(texts)


def test_config_values_are_write_only_and_stored_encrypted(world, owner_client):
    response = owner_client.put(_url(world, "/config/API_KEY/draft"), {"value": SECRET}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "name": "API_KEY", "description": "the CRM key", "declared": True,
        "values": {"draft": {"set": True, "updatedAt": response.json()["values"]["draft"]["updatedAt"]},
                   "production": {"set": True, "updatedAt": response.json()["values"]["production"]["updatedAt"]}},
    }
    assert SECRET not in response.content.decode()
    assert SECRET not in _every_response_text(owner_client, world)
    stored = ConfigValue.objects.get(bot=world.bot, name="API_KEY", environment="draft")
    assert SECRET not in stored.encrypted_value and stored.value == SECRET
    entry = AuditEntry.objects.filter(action="config.set").first()
    assert entry.details == {"name": "API_KEY", "environment": "draft"}


def test_config_declare_clear_and_remove(world, owner_client):
    declared = owner_client.post(_url(world, "/config"), {"name": "WEBHOOK_TOKEN", "description": "hook"},
                                 format="json")
    assert declared.status_code == 201
    assert declared.json()["values"]["production"] == {"set": False, "updatedAt": None}
    assert owner_client.post(_url(world, "/config"), {"name": "WEBHOOK_TOKEN"}, format="json").status_code == 409
    bad = owner_client.post(_url(world, "/config"), {"name": "9-bad"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["path"] == "$.name"
    names = [variable["name"] for variable in owner_client.get(_url(world, "/config")).json()["variables"]]
    assert names == ["API_KEY", "WEBHOOK_TOKEN"]
    assert world.bot.__class__.objects.get(pk=world.bot.pk).draft["config"][-1]["name"] == "WEBHOOK_TOKEN"

    assert owner_client.put(_url(world, "/config/NOT_DECLARED/draft"), {"value": "x"}, format="json").status_code == 404
    assert owner_client.put(_url(world, "/config/API_KEY/staging"), {"value": "x"}, format="json").status_code == 404
    assert owner_client.delete(_url(world, "/config/API_KEY/production")).status_code == 204
    assert owner_client.delete(_url(world, "/config/API_KEY/production")).status_code == 404
    assert owner_client.delete(_url(world, "/config/API_KEY")).status_code == 204
    assert not ConfigValue.objects.filter(bot=world.bot, name="API_KEY").exists()


def test_publish_list_get_and_diff_versions(world, owner_client):
    document = bot_file()
    document["flows"][0]["nodes"][1]["cards"][0]["text"] = "Echo: {{event.preview}}"
    owner_client.put(_url(world, "/definition"), {"baseRevision": world.bot.draft_revision, "definition": document},
                     format="json")
    published = owner_client.post(_url(world, "/versions"), {"note": "friendlier echo"}, format="json")
    assert published.status_code == 201
    assert published.json()["number"] == 3 and published.json()["author"]["email"] == "owner@example.com"

    listed = owner_client.get(_url(world, "/versions")).json()
    assert [(v["number"], v["note"]) for v in listed["versions"]] == [(3, "friendlier echo"), (2, "second"), (1, "first")]
    assert owner_client.get(_url(world, "/versions/3")).json()["definition"]["flows"][0]["nodes"][1]["cards"][0]["text"] \
        == "Echo: {{event.preview}}"
    assert owner_client.get(_url(world, "/versions/99")).status_code == 404

    diff = owner_client.get(_url(world, "/versions/diff?from=2&to=3")).json()
    assert diff["changes"]["cards"]["changed"] == [
        {"flow": "main", "node": "loop", "id": "reply", "type": "text", "fields": ["text"]}]
    assert diff["summary"] == "1 flow changed, 1 card changed"
    assert owner_client.get(_url(world, "/versions/diff?from=3")).json()["changes"]["identical"] is True
    bad = owner_client.get(_url(world, "/versions/diff?from=two"))
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["path"] == "$query.from"


def test_publishing_an_unfinished_draft_lists_its_problems(world, owner_client):
    world.bot.draft = {**world.bot.draft, "flows": [{"name": "main", "nodes": [{"id": "start", "kind": "start"}]}]}
    world.bot.save()
    response = owner_client.post(_url(world, "/versions"), {"note": "x"}, format="json")
    assert response.status_code == 400
    assert any(detail["path"].startswith("$.flows[0].nodes[0]") for detail in response.json()["error"]["details"])


def test_restore_copies_a_version_into_the_draft(world, owner_client):
    owner_client.patch(_url(world), {"name": "Changed"}, format="json")
    revision = owner_client.get(_url(world)).json()["revision"]
    stale = owner_client.post(_url(world, "/versions/1/restore"), {"baseRevision": revision - 1}, format="json")
    assert stale.status_code == 409
    restored = owner_client.post(_url(world, "/versions/1/restore"), {"baseRevision": revision}, format="json")
    assert restored.json() == {"revision": revision + 1, "restoredVersion": 1}
    assert owner_client.get(_url(world)).json()["name"] == "Support"
    assert AuditEntry.objects.filter(action="bot.restore", details__version=1).exists()


def test_export_then_import_gives_an_equal_bot(world, owner_client):
    exported = owner_client.get(_url(world, "/export"))
    assert exported.status_code == 200
    assert exported["Content-Disposition"] == 'attachment; filename="Support.bot.json"'
    assert exported["X-Bot-File-Problems"] == "0"
    text = exported.content.decode()
    assert SECRET not in text and "secret-production-value" not in text
    imported = owner_client.generic("POST", f"/api/v1/workspaces/{world.workspace.slug}/bots/import", text,
                                    content_type="application/json")
    assert imported.status_code == 201
    again = owner_client.get(f"/api/v1/bots/{imported.json()['id']}/export").content.decode()
    assert json.loads(again) == json.loads(text)
    assert AuditEntry.objects.filter(action="bot.import", target_id=imported.json()["id"]).exists()
    version_one = owner_client.get(_url(world, "/export?version=1"))
    assert version_one.status_code == 200
    assert owner_client.get(_url(world, "/export?version=9")).status_code == 404


def test_importing_a_broken_file_stores_nothing_and_lists_every_problem(world, owner_client):
    url = f"/api/v1/workspaces/{world.workspace.slug}/bots/import"
    before = world.bot.__class__.objects.count()
    broken = bot_file(flow="typo")
    broken["flows"][0]["nodes"][0]["next"] = "missing"
    response = owner_client.generic("POST", url, json.dumps(broken), content_type="application/json")
    assert response.status_code == 400
    paths = {detail["path"] for detail in response.json()["error"]["details"]}
    assert {"$.flow", "$.flows[0].nodes[0].next"} <= paths
    not_json = owner_client.generic("POST", url, '{"format": ', content_type="application/json")
    assert not_json.status_code == 400
    assert "line 1" in not_json.json()["error"]["details"][0]["message"]
    not_utf8 = owner_client.generic("POST", url, b"\xff\xfe{}", content_type="application/json")
    assert not_utf8.status_code == 400
    assert world.bot.__class__.objects.count() == before
