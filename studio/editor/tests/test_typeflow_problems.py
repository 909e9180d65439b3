"""The problems API carries the type-flow checker's errors with their fixes; publishing refuses them."""
import pytest

from flows.botfile.typeflow import apply_patch
from flows.models import BotVersion
from studio.editor.tests.test_endpoints import as_user, document, post, put, url, world  # noqa: F401 (fixture)
from studio.people.models import Role

pytestmark = pytest.mark.django_db

PERSON_INTO_STRING = "$.flows[0].nodes[1].cards[1].variable"


def with_person_capture(doc: dict) -> dict:
    doc["variables"] = [{"scope": "user", "name": "name", "type": "string"}]
    doc["flows"][0]["nodes"][1]["cards"] += [
        {"id": "ask-name", "type": "capture", "capture": "person", "variable": "user.name", "prompt": "Your name?"},
        {"id": "greet", "type": "text", "text": "Nice to meet you, {{user.name}}!"},
    ]
    return doc


def test_the_problems_api_returns_the_type_mismatch_with_its_fixes_and_publish_refuses_it(client, world):
    bot, users = world
    as_user(client, users[Role.OWNER])
    saved = put(client, url("draft", bot), {"baseRevision": bot.draft_revision,
                                            "document": with_person_capture(document(bot))})
    assert saved.status_code == 200
    problems = client.get(url("problems", bot)).json()["problems"]
    [problem] = [p for p in problems if p["path"] == PERSON_INTO_STRING]
    assert problem["severity"] == "error"
    assert problem["location"] == {"section": "flows", "flow": "main", "node": "hello", "card": "ask-name",
                                   "field": "variable"}
    assert problem["message"].startswith("a Person capture stores an object {first, last}, but user.name is "
                                         "declared string")
    declare = problem["fixes"][0]
    assert declare["label"] == "Declare user.name as object"
    assert {"op": "replace", "path": "/variables/0/type", "value": "object"} in declare["patch"]

    refused = post(client, url("publish", bot), {"baseRevision": saved.json()["revision"]})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "draft_has_errors"
    assert [d["message"] for d in refused.json()["error"]["details"]] == [problem["message"]]
    assert not BotVersion.objects.filter(bot=bot).exists()

    # the editor applies the patch to what it has and saves it through its normal path
    fixed = put(client, url("draft", bot), {"baseRevision": saved.json()["revision"],
                                            "document": apply_patch(document(bot), declare["patch"])})
    assert [p for p in fixed.json()["problems"] if p["severity"] == "error"] == []
    assert post(client, url("publish", bot), {"baseRevision": fixed.json()["revision"]}).status_code == 201
