"""The editor's JSON endpoints: revisions and conflicts, problems with paths, permissions."""
import copy
import json

import pytest
from django.urls import reverse

from flows import services
from flows.models import Bot, BotVersion
from studio.people.models import Membership, Role, Workspace

pytestmark = pytest.mark.django_db

BOT = {
    "format": "flowstudio.bot/1",
    "name": "Support",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "hello"},
        {"id": "hello", "kind": "standard", "cards": [{"id": "hi", "type": "text", "text": "Hi!"}], "next": "end"},
        {"id": "end", "kind": "end"},
    ]}],
    "layout": {"main": {"start": [0, 0], "hello": [300, 0], "end": [600, 0]}},
}


@pytest.fixture
def world(django_user_model):
    # No passwords: hashing seven of them per test would dominate the run (force_login needs none).
    owner = django_user_model.objects.create_user("owner", "owner@example.com")
    workspace = Workspace.objects.create(name="Acme", slug="acme", created_by=owner)
    users = {}
    for role in Role:
        user = owner if role == Role.OWNER else django_user_model.objects.create_user(role.value, f"{role.value}@x.com")
        Membership.objects.create(workspace=workspace, user=user, role=role)
        users[role] = user
    users["outsider"] = django_user_model.objects.create_user("outsider", "out@x.com")
    Membership.objects.create(workspace=Workspace.objects.create(name="Other", slug="other"), user=users["outsider"],
                              role=Role.OWNER)
    bot = services.import_bot(copy.deepcopy(BOT), workspace=workspace, user=owner)
    return bot, users


def url(name, bot, **kwargs):
    return reverse(f"editor:{name}", kwargs={"bot_id": bot.pk, **kwargs})


def put(client, target, body):
    return client.put(target, data=json.dumps(body), content_type="application/json")


def post(client, target, body):
    return client.post(target, data=json.dumps(body), content_type="application/json")


def as_user(client, user):
    client.force_login(user)
    return client


def document(bot) -> dict:
    bot.refresh_from_db()
    return {**copy.deepcopy(bot.draft), "layout": copy.deepcopy(bot.layout)}


# ---- the page ---------------------------------------------------------------------------------

def test_page_redirects_anonymous_to_login(client, world):
    bot, _ = world
    response = client.get(url("edit", bot))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize("role, status", [
    (Role.OWNER, 200), (Role.DEVELOPER, 200), (Role.VIEWER, 200), (Role.BILLING_MANAGER, 403), ("outsider", 404),
])
def test_page_access_by_role(client, world, role, status):
    bot, users = world
    assert as_user(client, users[role]).get(url("edit", bot)).status_code == status


def test_page_boots_the_editor_with_the_draft_and_what_the_user_may_do(client, world):
    bot, users = world
    response = as_user(client, users[Role.VIEWER]).get(url("edit", bot))
    boot = response.context["boot"]
    assert boot["draft"]["revision"] == bot.draft_revision
    assert boot["draft"]["document"]["flows"][0]["name"] == "main"
    assert boot["can"] == {"change": False, "publish": False}
    assert {entry["type"] for entry in boot["catalogue"]} >= {"text", "expression", "call", "code", "capture"}
    assert b'id="fs-boot"' in response.content
    assert b"vendor/x6/x6.js" in response.content


def test_page_offers_the_workspace_models_to_model_fields(client, world):
    from integrations.llm.services import save_provider

    bot, users = world
    models = [{"id": "gpt-small", "label": "Fast"}, {"id": "gpt-large"}]
    save_provider(bot.workspace, {"name": "acme", "base_url": "https://llm.example/v1", "models": models,
                                  "is_default": True})
    save_provider(bot.workspace, {"name": "local", "base_url": "http://ollama.example/v1",
                                  "models": [{"id": "llama3"}]})
    boot = as_user(client, users[Role.DEVELOPER]).get(url("edit", bot)).context["boot"]
    # Every provider with its models and which is the default (the picker writes the default
    # provider's models by label, the others as provider/model: static/editor/inspector.js).
    assert sorted(boot["llm"]["providers"], key=lambda p: p["name"]) == [
        {"name": "acme", "models": [{"id": "gpt-small", "label": "Fast", "default": True},
                                    {"id": "gpt-large", "label": "", "default": False}]},
        {"name": "local", "models": [{"id": "llama3", "label": "", "default": True}]}]
    assert boot["llm"]["workspaceDefault"] == "acme"
    assert {e["type"]: e["category"] for e in boot["catalogue"] if e["type"].startswith("ai_")} == {
        "ai_generate_text": "AI", "ai_task": "AI", "ai_transition": "AI"}
    assert all(e["hint"] for e in boot["catalogue"] if e["category"] == "AI")


# ---- reading and saving the draft ----------------------------------------------------------------

@pytest.mark.parametrize("role, status", [
    (Role.VIEWER, 200), (Role.BILLING_MANAGER, 403), ("outsider", 404),
])
def test_get_draft_by_role(client, world, role, status):
    bot, users = world
    response = as_user(client, users[role]).get(url("draft", bot))
    assert response.status_code == status
    if status == 200:
        assert response.json()["revision"] == bot.draft_revision
        assert response.json()["problems"] == []
    else:
        assert response.json()["error"]["code"] in ("permission_denied", "not_found")


def test_anonymous_json_calls_get_401(client, world):
    bot, _ = world
    response = client.get(url("draft", bot))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_save_bumps_the_revision_and_stores_the_document(client, world):
    bot, users = world
    doc = document(bot)
    doc["flows"][0]["nodes"][1]["cards"][0]["text"] = "Hello again"
    response = put(as_user(client, users[Role.DEVELOPER]), url("draft", bot), {"baseRevision": bot.draft_revision, "document": doc})
    assert response.status_code == 200, response.content
    assert response.json() == {"revision": bot.draft_revision + 1, "problems": []}
    bot.refresh_from_db()
    assert bot.draft["flows"][0]["nodes"][1]["cards"][0] == {"id": "hi", "type": "text", "text": "Hello again", "markdown": False,
                                                       "metadata": None}


def test_an_autonomous_node_is_saved_with_its_fields_and_no_problem(client, world):
    from integrations.llm.services import save_provider

    bot, users = world
    # An autonomous node needs a provider in the workspace (else: a problem before publish).
    save_provider(bot.workspace, {"name": "acme", "base_url": "https://llm.example/v1",
                                  "models": [{"id": "gpt-small", "label": "Fast"}]})
    doc = document(bot)
    node = {"id": "agent", "kind": "autonomous", "name": "agent", "instructions": "Help with {{event.preview}}",
            "maxIterations": 5, "model": "Fast", "temperature": 0.2, "useMemory": True, "mcpServers": ["orders"],
            "cards": [{"id": "hi2", "type": "text", "text": "Looking…"}], "next": "end"}
    doc["flows"][0]["nodes"][1]["next"] = "agent"
    doc["flows"][0]["nodes"].append(node)
    response = put(as_user(client, users[Role.DEVELOPER]), url("draft", bot), {"baseRevision": bot.draft_revision, "document": doc})
    assert response.status_code == 200, response.json()
    assert response.json()["problems"] == []
    saved = next(n for n in document(bot)["flows"][0]["nodes"] if n["id"] == "agent")
    assert {key: value for key, value in saved.items() if key != "cards"} == {
        key: value for key, value in node.items() if key != "cards"}


def test_stale_save_is_refused_with_409_and_the_current_revision(client, world):
    bot, users = world
    client = as_user(client, users[Role.DEVELOPER])
    base = bot.draft_revision
    first = document(bot)
    first["flows"][0]["nodes"][1]["name"] = "First tab"
    assert put(client, url("draft", bot), {"baseRevision": base, "document": first}).status_code == 200
    second = document(bot)
    second["flows"][0]["nodes"][1]["name"] = "Second tab"
    response = put(client, url("draft", bot), {"baseRevision": base, "document": second})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "stale_revision"
    assert error["currentRevision"] == base + 1
    assert "node changed" in error["changes"]
    bot.refresh_from_db()
    assert bot.draft["flows"][0]["nodes"][1]["name"] == "First tab"


def test_an_unfinished_draft_is_stored_and_its_problems_come_back_with_paths(client, world):
    bot, users = world
    doc = document(bot)
    doc["flows"][0]["nodes"][1]["cards"].append({"id": "empty", "type": "text", "text": ""})
    doc["flows"][0]["nodes"][1]["next"] = "nowhere"
    before = bot.draft_revision
    response = put(as_user(client, users[Role.DEVELOPER]), url("draft", bot), {"baseRevision": before, "document": doc})
    assert response.status_code == 200
    errors = [p for p in response.json()["problems"] if p["severity"] == "error"]
    by_path = {p["path"]: p for p in errors}
    assert by_path["$.flows[0].nodes[1].cards[1].text"]["location"] == {
        "section": "flows", "flow": "main", "node": "hello", "card": "empty", "field": "text"}
    assert by_path["$.flows[0].nodes[1].next"]["location"] == {"section": "flows", "flow": "main", "node": "hello", "field": "next"}
    assert "nowhere" in by_path["$.flows[0].nodes[1].next"]["message"]
    bot.refresh_from_db()
    assert bot.draft["flows"][0]["nodes"][1]["next"] == "nowhere"  # kept as the builder left it
    assert bot.draft_revision == before + 1


def test_warnings_name_unreachable_nodes_and_undeclared_variables(client, world):
    bot, users = world
    doc = document(bot)
    doc["flows"][0]["nodes"].append({"id": "lonely", "kind": "standard", "cards": [
        {"id": "t2", "type": "text", "text": "Hi {{workflow.ghost}}"}], "next": None})
    response = put(as_user(client, users[Role.OWNER]), url("draft", bot), {"baseRevision": bot.draft_revision, "document": doc})
    warnings = {p["message"]: p for p in response.json()["problems"] if p["severity"] == "warning"}
    assert "node 'lonely' is never reached: no transition leads to it" in warnings
    ghost = warnings["workflow.ghost is not declared and no card or code writes it; add it to this flow's variables"]
    assert ghost["location"]["card"] == "t2"
    assert [p for p in response.json()["problems"] if p["severity"] == "error"] == []


@pytest.mark.parametrize("body, path", [
    ({"baseRevision": 1, "document": []}, "$"),
    ({"baseRevision": 1, "document": {"format": "flowstudio.bot/1", "name": "x", "flows": {}}}, "$.flows"),
    ({"baseRevision": 1, "document": {"format": "nope", "name": "x", "flows": []}}, "$.format"),
    ({"baseRevision": 1, "document": {"format": "flowstudio.bot/1", "name": "x", "flows": [{"name": "m", "nodes": [{"kind": "start"}]}]}}, "$.flows[0].nodes[0]"),
    ({"baseRevision": 1, "document": {"format": "flowstudio.bot/1", "name": "x\u0000", "flows": []}}, "$.name"),
])
def test_an_unusable_document_is_refused_with_the_path_and_nothing_stored(client, world, body, path):
    bot, users = world
    before = bot.draft_revision
    response = put(as_user(client, users[Role.OWNER]), url("draft", bot), body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_document"
    assert path in [d["path"] for d in response.json()["error"]["details"]]
    bot.refresh_from_db()
    assert bot.draft_revision == before


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'{"document": {}}', b'{"baseRevision": "3", "document": {}}'])
def test_malformed_requests_are_400_not_500(client, world, body):
    bot, users = world
    response = as_user(client, users[Role.OWNER]).put(url("draft", bot), data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"]


@pytest.mark.parametrize("role, status", [(Role.VIEWER, 403), (Role.BILLING_MANAGER, 403), ("outsider", 404), (Role.MANAGER, 200)])
def test_saving_needs_change_bot(client, world, role, status):
    bot, users = world
    response = put(as_user(client, users[role]), url("draft", bot), {"baseRevision": bot.draft_revision, "document": document(bot)})
    assert response.status_code == status


# ---- layout ------------------------------------------------------------------------------------

def test_layout_moves_never_create_a_logic_revision(client, world):
    bot, users = world
    client = as_user(client, users[Role.DEVELOPER])
    before = bot.draft_revision
    response = put(client, url("layout", bot), {"baseRevision": before, "layout": {"main": {"start": [10, 20], "hello": [300, 40], "end": [600, 0]}}})
    assert response.status_code == 200
    bot.refresh_from_db()
    assert bot.draft_revision == before
    assert bot.layout["main"]["hello"] == [300, 40]


def test_layout_for_a_node_that_does_not_exist_is_refused_with_its_path(client, world):
    bot, users = world
    response = put(as_user(client, users[Role.DEVELOPER]), url("layout", bot),
                   {"baseRevision": bot.draft_revision, "layout": {"main": {"ghost": [1, 2]}}})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["path"].startswith("$.layout.main")


def test_layout_from_a_stale_copy_is_409(client, world):
    bot, users = world
    response = put(as_user(client, users[Role.DEVELOPER]), url("layout", bot),
                   {"baseRevision": bot.draft_revision - 1 or 99, "layout": {"main": {}}})
    assert response.status_code == 409
    assert response.json()["error"]["currentRevision"] == bot.draft_revision


def test_viewer_cannot_move_nodes(client, world):
    bot, users = world
    response = put(as_user(client, users[Role.VIEWER]), url("layout", bot), {"baseRevision": bot.draft_revision, "layout": {}})
    assert response.status_code == 403


# ---- publish, versions, restore, diff ---------------------------------------------------------------

def test_publish_is_refused_while_the_draft_has_errors(client, world):
    bot, users = world
    client = as_user(client, users[Role.DEVELOPER])
    doc = document(bot)
    doc["flows"][0]["nodes"][1]["cards"][0]["text"] = ""
    revision = put(client, url("draft", bot), {"baseRevision": bot.draft_revision, "document": doc}).json()["revision"]
    response = post(client, url("publish", bot), {"baseRevision": revision, "note": "try"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "draft_has_errors"
    assert error["details"][0]["path"] == "$.flows[0].nodes[1].cards[0].text"
    assert error["details"][0]["location"]["card"] == "hi"
    assert not BotVersion.objects.filter(bot=bot).exists()


def test_publish_with_a_note_then_list_versions(client, world):
    bot, users = world
    client = as_user(client, users[Role.DEVELOPER])
    response = post(client, url("publish", bot), {"baseRevision": bot.draft_revision, "note": "  first cut "})
    assert response.status_code == 201
    assert response.json()["version"] == 1
    versions = client.get(url("versions", bot)).json()["versions"]
    assert versions[0]["number"] == 1
    assert versions[0]["note"] == "first cut"
    assert versions[0]["author"] == "developer"
    assert versions[0]["createdAt"]


def test_publish_from_a_stale_copy_is_409(client, world):
    bot, users = world
    response = post(as_user(client, users[Role.OWNER]), url("publish", bot), {"baseRevision": bot.draft_revision + 5})
    assert response.status_code == 409
    assert not BotVersion.objects.filter(bot=bot).exists()


@pytest.mark.parametrize("role, status", [(Role.VIEWER, 403), ("outsider", 404)])
def test_publish_needs_publish_bot(client, world, role, status):
    bot, users = world
    response = post(as_user(client, users[role]), url("publish", bot), {"baseRevision": bot.draft_revision})
    assert response.status_code == status


def test_restore_copies_a_version_into_the_draft(client, world):
    bot, users = world
    client = as_user(client, users[Role.OWNER])
    post(client, url("publish", bot), {"baseRevision": bot.draft_revision})
    doc = document(bot)
    doc["flows"][0]["nodes"][1]["cards"][0]["text"] = "changed"
    put(client, url("draft", bot), {"baseRevision": bot.draft_revision, "document": doc})
    response = post(client, url("restore", bot, number=1), {})
    assert response.status_code == 200
    assert response.json()["document"]["flows"][0]["nodes"][1]["cards"][0]["text"] == "Hi!"
    assert response.json()["revision"] == Bot.objects.get(pk=bot.pk).draft_revision
    assert post(client, url("restore", bot, number=9), {}).status_code == 404


def test_viewer_cannot_restore(client, world):
    bot, users = world
    services.publish(bot)
    assert post(as_user(client, users[Role.VIEWER]), url("restore", bot, number=1), {}).status_code == 403


def test_diff_of_a_version_and_the_draft(client, world):
    bot, users = world
    client = as_user(client, users[Role.OWNER])
    post(client, url("publish", bot), {"baseRevision": bot.draft_revision})
    doc = document(bot)
    doc["flows"][0]["nodes"][1]["cards"].append({"id": "more", "type": "text", "text": "More"})
    put(client, url("draft", bot), {"baseRevision": bot.draft_revision, "document": doc})
    response = client.get(url("diff", bot), {"from": "1", "to": "draft"})
    assert response.status_code == 200
    cards = response.json()["diff"]["cards"]
    assert [c["id"] for c in cards["added"]] == ["more"]
    assert client.get(url("diff", bot), {"from": "7", "to": "draft"}).status_code == 404
    assert client.get(url("diff", bot), {"from": "x"}).status_code == 400


# ---- import and export -----------------------------------------------------------------------------

def test_export_downloads_the_canonical_file(client, world):
    bot, users = world
    response = as_user(client, users[Role.VIEWER]).get(url("export", bot))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="Support-')
    assert json.loads(response.content) == services.export_bot(bot)
    assert response["X-Bot-File-Problems"] == "0"


def test_an_unfinished_draft_still_exports_as_it_is_and_says_so(client, world):
    bot, users = world
    client = as_user(client, users[Role.OWNER])
    doc = document(bot)
    doc["flows"][0]["nodes"][1]["next"] = "ghost"
    put(client, url("draft", bot), {"baseRevision": bot.draft_revision, "document": doc})
    response = client.get(url("export", bot))
    assert response.status_code == 200
    assert response["X-Bot-File-Problems"] == "1"
    assert json.loads(response.content)["flows"][0]["nodes"][1]["next"] == "ghost"
    assert client.get(url("export", bot), {"version": "4"}).status_code == 404


def test_import_replaces_the_draft_and_reports_a_bad_file_with_paths(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bot, users = world
    client = as_user(client, users[Role.DEVELOPER])
    bad = copy.deepcopy(BOT)
    bad["flows"][0]["nodes"][1]["next"] = "ghost"
    response = client.post(url("import", bot), {"baseRevision": bot.draft_revision,
                                                "file": SimpleUploadedFile("bad.json", json.dumps(bad).encode())})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["path"] == "$.flows[0].nodes[1].next"
    good = copy.deepcopy(BOT)
    good["name"] = "Renamed"
    response = client.post(url("import", bot), {"baseRevision": bot.draft_revision,
                                                "file": SimpleUploadedFile("good.json", json.dumps(good).encode())})
    assert response.status_code == 200
    bot.refresh_from_db()
    assert bot.name == "Renamed"
    response = client.post(url("import", bot), {"baseRevision": 1,
                                                "file": SimpleUploadedFile("good.json", json.dumps(good).encode())})
    assert response.status_code == 409


def test_viewer_cannot_import(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bot, users = world
    response = as_user(client, users[Role.VIEWER]).post(url("import", bot), {
        "baseRevision": bot.draft_revision, "file": SimpleUploadedFile("b.json", json.dumps(BOT).encode())})
    assert response.status_code == 403


def test_problems_endpoint_reports_the_stored_draft(client, world):
    bot, users = world
    client = as_user(client, users[Role.VIEWER])
    assert client.get(url("problems", bot)).json() == {"revision": bot.draft_revision, "problems": []}
    doc = document(bot)
    doc["flows"][0]["nodes"][1]["next"] = "ghost"
    from studio.editor.drafts import save_draft

    save_draft(bot, doc, base_revision=None)
    problems = client.get(url("problems", bot)).json()["problems"]
    assert [(p["severity"], p["path"]) for p in problems if p["severity"] == "error"] == [("error", "$.flows[0].nodes[1].next")]
    assert as_user(client, users["outsider"]).get(url("problems", bot)).status_code == 404
