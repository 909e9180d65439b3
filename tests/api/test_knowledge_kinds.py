"""The knowledge base list says which kinds of source the server indexes (the editor's
Knowledge tab offers those and no others), and every kind it lists is one the add-source
endpoint takes: a body missing that kind's fields is refused naming them, never the kind."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_every_listed_source_kind_is_one_the_api_takes(world):
    viewer, developer = world.client("viewer"), world.client("developer")
    base = f"/api/v1/bots/{world.bot.pk}/knowledge-bases"
    listed = viewer.get(base)
    assert listed.status_code == 200
    kinds = listed.json()["sourceKinds"]
    assert {"document", "url", "sitemap", "text"} <= set(kinds)
    kb = developer.post(base, {"name": "Kinds"}, format="json").json()["id"]
    for kind in kinds:
        if kind == "document":
            refused = developer.post(f"{base}/{kb}/sources", {}, format="multipart")
        else:
            refused = developer.post(f"{base}/{kb}/sources", {"kind": kind}, format="json")
        assert refused.status_code == 400, (kind, refused.content)
        paths = [d["path"] for d in refused.json()["error"]["details"]]
        assert paths and "$.kind" not in paths, (kind, paths)
