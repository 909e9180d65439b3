"""The bot definition as one document: revisions, stale saves (409 with what changed),
validation errors with JSON paths, partial sections, read views of flows, nodes and cards."""
import pytest

from flows import services
from studio.people.models import AuditEntry
from tests.api.conftest import bot_file

pytestmark = pytest.mark.django_db


def _url(world, tail=""):
    return f"/api/v1/bots/{world.bot.pk}{tail}"


def test_get_returns_the_draft_with_its_revision(world, owner_client):
    body = owner_client.get(_url(world, "/definition")).json()
    assert body["revision"] == world.bot.draft_revision
    assert body["valid"] is True and body["problems"] == []
    assert body["definition"]["name"] == "Support"
    assert body["definition"]["layout"]["main"]["loop"] == [240, 0]


def test_a_save_based_on_the_current_revision_goes_through_and_is_audited(world, owner_client):
    revision = world.bot.draft_revision
    document = bot_file(name="Support v2")
    response = owner_client.put(_url(world, "/definition"), {"baseRevision": revision, "definition": document},
                                format="json")
    assert response.status_code == 200, response.content
    assert response.json()["revision"] == revision + 1
    world.bot.refresh_from_db()
    assert world.bot.name == "Support v2" and world.bot.draft_revision == revision + 1
    entry = AuditEntry.objects.filter(action="bot.update", target_id=str(world.bot.pk)).first()
    assert entry.actor == world.users["owner"] and entry.details["part"] == "definition"


def test_a_stale_save_is_refused_with_the_current_revision_and_what_changed(world, owner_client):
    base = world.bot.draft_revision
    # Someone else adds a node meanwhile.
    theirs = bot_file()
    theirs["flows"][0]["nodes"].append({"id": "extra", "kind": "standard", "cards": [
        {"id": "extra-text", "type": "text", "text": "Extra"}], "next": "loop"})
    services.replace_draft(world.bot, theirs, base_revision=base, user=world.users["developer"])

    mine = bot_file(description="my edit")
    response = owner_client.put(_url(world, "/definition"), {"baseRevision": base, "definition": mine},
                                format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "stale_revision"
    assert error["currentRevision"] == base + 1
    assert [node["id"] for node in error["changes"]["nodes"]["added"]] == ["extra"]
    assert error["changes"]["cards"]["added"][0]["id"] == "extra-text"
    assert "1 node added" in error["summary"]
    world.bot.refresh_from_db()
    assert world.bot.draft.get("description") != "my edit"  # nothing of the stale save was kept


def test_every_validation_problem_is_listed_with_its_path_in_the_request(world, owner_client):
    document = bot_file()
    document["flows"][0]["nodes"][1]["next"] = "nowhere"
    document["flows"][0]["nodes"][1]["cards"][0]["text"] = "{{ broken"
    document["config"] = [{"name": "API_KEY", "value": "leaked"}]
    response = owner_client.put(_url(world, "/definition"),
                                {"baseRevision": world.bot.draft_revision, "definition": document}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_bot_file"
    paths = [detail["path"] for detail in error["details"]]
    assert "$.definition.flows[0].nodes[1].next" in paths
    assert any(path.startswith("$.definition.flows[0].nodes[1].cards[0]") for path in paths)
    assert any(path.startswith("$.definition.config[0]") for path in paths)
    assert all(detail["message"] for detail in error["details"])
    world.bot.refresh_from_db()
    assert world.bot.draft["flows"][0]["nodes"][1]["next"] == "loop"  # nothing half-written


@pytest.mark.parametrize("body,path", [
    ({"definition": {}}, "$.baseRevision"),
    ({"baseRevision": "three", "definition": {}}, "$.baseRevision"),
    ({"baseRevision": 1, "definition": [1, 2]}, "$.definition"),
    ({"baseRevision": 1}, "$.definition"),
])
def test_a_malformed_save_request_names_the_field(world, owner_client, body, path):
    response = owner_client.put(_url(world, "/definition"), body, format="json")
    assert response.status_code == 400
    assert path in [detail["path"] for detail in response.json()["error"]["details"]]


def test_json_that_does_not_parse_is_a_400_with_line_and_column(world, owner_client):
    response = owner_client.generic("PUT", _url(world, "/definition"), '{"baseRevision": 1,', content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parse_error" and "line 1" in error["message"]


def test_nul_characters_are_refused_with_their_path(world, owner_client):
    document = bot_file()
    document["flows"][0]["nodes"][1]["cards"][0]["text"] = "a\u0000b"
    response = owner_client.put(_url(world, "/definition"),
                                {"baseRevision": world.bot.draft_revision, "definition": document}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["path"] == "$.definition.flows[0].nodes[1].cards[0].text"


def test_a_body_over_the_limit_is_413(world, owner_client, settings):
    settings.FLOWSTUDIO_API_MAX_BODY_BYTES = 1000
    document = bot_file(description="x" * 2000)
    response = owner_client.put(_url(world, "/definition"),
                                {"baseRevision": world.bot.draft_revision, "definition": document}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_an_unfinished_draft_reads_with_its_problems(world, owner_client):
    # The editor stores drafts that are not valid yet; the API shows them as they are.
    world.bot.draft = {**world.bot.draft, "flows": [{"name": "main", "nodes": [{"id": "start", "kind": "start"}]}]}
    world.bot.save()
    body = owner_client.get(_url(world, "/definition")).json()
    assert body["valid"] is False
    assert any(problem["path"].startswith("$.flows[0].nodes[0]") for problem in body["problems"])
    exported = owner_client.get(_url(world, "/export"))  # work is never trapped: exported as stored
    assert exported.status_code == 200 and int(exported["X-Bot-File-Problems"]) >= 1
    assert exported.json()["flows"] == [{"name": "main", "nodes": [{"id": "start", "kind": "start"}]}]
    # Renaming still works on an unfinished draft.
    renamed = owner_client.patch(_url(world), {"name": "Renamed"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"


def test_flows_nodes_and_cards_read_views(world, owner_client):
    flows = owner_client.get(_url(world, "/flows")).json()
    assert flows["flows"] == [{"name": "main", "description": "", "folder": "", "nodes": 3, "variables": 0}]
    flow = owner_client.get(_url(world, "/flows/main")).json()
    assert [node["id"] for node in flow["flow"]["nodes"]] == ["start", "loop", "paid"]
    assert flow["layout"] == {"start": [0, 0], "loop": [240, 0]}
    node = owner_client.get(_url(world, "/flows/main/nodes/loop")).json()
    assert node["node"]["name"] == "Echo" and node["position"] == [240, 0]
    card = owner_client.get(_url(world, "/cards/reply")).json()
    assert (card["flow"], card["node"], card["card"]["type"]) == ("main", "loop", "text")
    assert owner_client.get(_url(world, "/flows/nope")).status_code == 404
    assert owner_client.get(_url(world, "/flows/main/nodes/nope")).status_code == 404
    assert owner_client.get(_url(world, "/cards/nope")).json()["error"]["code"] == "not_found"


def test_variables_are_replaced_with_a_base_revision_and_problems_have_paths(world, owner_client):
    url = _url(world, "/variables")
    body = owner_client.get(url).json()
    assert body["variables"] == [{"scope": "user", "name": "plan", "type": "string"}]
    bad = owner_client.put(url, {"baseRevision": body["revision"], "variables": [
        {"scope": "user", "name": "plan", "type": "string"}, {"scope": "user", "name": "9bad", "type": "nope"}]},
        format="json")
    assert bad.status_code == 400
    assert {detail["path"] for detail in bad.json()["error"]["details"]} >= {"$.variables[1].name", "$.variables[1].type"}
    good = owner_client.put(url, {"baseRevision": body["revision"], "variables": [
        {"scope": "bot", "name": "total", "type": "number", "default": 0}]}, format="json")
    assert good.status_code == 200
    assert good.json()["revision"] == body["revision"] + 1
    stale = owner_client.put(url, {"baseRevision": body["revision"], "variables": []}, format="json")
    assert stale.status_code == 409 and stale.json()["error"]["currentRevision"] == body["revision"] + 1


def test_create_rename_and_delete_a_bot(world, owner_client):
    created = owner_client.post(f"/api/v1/workspaces/{world.workspace.slug}/bots",
                                {"name": "  Fresh  ", "description": "new"}, format="json")
    assert created.status_code == 201
    bot = created.json()
    assert bot["name"] == "Fresh" and bot["description"] == "new" and bot["latestVersion"] is None
    assert bot["createdBy"]["email"] == "owner@example.com"
    # A new bot is publishable straight away.
    assert owner_client.post(f"/api/v1/bots/{bot['id']}/versions", {}, format="json").status_code == 201
    renamed = owner_client.patch(f"/api/v1/bots/{bot['id']}", {"description": "changed"}, format="json").json()
    assert renamed["description"] == "changed" and renamed["revision"] == bot["revision"] + 1
    blank = owner_client.patch(f"/api/v1/bots/{bot['id']}", {"name": "   "}, format="json")
    assert blank.status_code == 400 and blank.json()["error"]["details"][0]["path"] == "$.name"
    assert owner_client.delete(f"/api/v1/bots/{bot['id']}").status_code == 204
    assert owner_client.get(f"/api/v1/bots/{bot['id']}").status_code == 404
    actions = list(AuditEntry.objects.filter(target_id=bot["id"]).values_list("action", flat=True))
    assert {"bot.create", "bot.publish", "bot.update", "bot.delete"} <= set(actions)


def test_deleting_a_bot_with_active_conversations_and_states_works(world, owner_client):
    world.conversation.refresh_from_db()
    assert world.conversation.version_id is not None  # a dialog is pinned to a version
    assert owner_client.delete(_url(world)).status_code == 204


def test_code_that_breaks_out_of_its_function_is_a_400_and_declarations_never_collide(world, owner_client):
    def save(*codes):
        document = bot_file()
        document["flows"][0]["nodes"][1]["cards"] += [{"id": f"code{i}", "type": "code", "code": code}
                                                      for i, code in enumerate(codes)]
        world.bot.refresh_from_db()
        return owner_client.put(_url(world, "/definition"),
                                {"baseRevision": world.bot.draft_revision, "definition": document}, format="json")

    escape = "}); const t0 = 1; while (true) {} (async function () {"
    for _ in range(2):  # the same card checked twice gives the same answer, not a 500
        response = save(escape)
        assert response.status_code == 400, response.content
        details = response.json()["error"]["details"]
        card = len(bot_file()["flows"][0]["nodes"][1]["cards"])
        assert [d["path"] for d in details] == [f"$.definition.flows[0].nodes[1].cards[{card}].code"]
        assert details[0]["message"].startswith("SyntaxError: the code closes the function it runs in")
    for _ in range(2):
        response = save("const t0 = Date.now(); workflow.t = t0", "const t0 = 2; workflow.u = t0")
        assert response.status_code == 200, response.content
