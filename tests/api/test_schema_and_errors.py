"""The OpenAPI schema validates (also as `manage.py spectacular` writes it), the docs page loads only local files, and every error the
API can answer has the one documented shape."""
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from tests.api.conftest import bot_file

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_validates(client):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    assert schema["info"]["title"] == "Flowstudio REST API"
    assert {"bearerAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    operation_ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    error = schema["paths"]["/api/v1/bots/{bot_id}"]["get"]["responses"]["404"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_yaml_schema_is_served_too(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200 and b"openapi: 3" in response.content


def test_the_docs_page_uses_only_local_files(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/static/") for source in sources)
    for source in sources:
        assert finders.find(source.removeprefix("/static/")), source
    # The schema URL is a JS string literal (drf-spectacular escapes it); decode it as JS would.
    schema_url = json.loads(re.search(r'url: ("[^"]*")', html).group(1))
    assert '"validatorUrl": null' in html and schema_url == "/api/v1/schema/?format=json"


def test_manage_py_spectacular_writes_the_served_schema(client, tmp_path):
    # CI runs `manage.py spectacular --validate --fail-on-warn`; it must describe the same API.
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    assert json.loads(out.read_text()) == client.get("/api/v1/schema/?format=json").json()


def _shape(response):
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    for detail in error["details"]:
        assert set(detail) == {"path", "message"} and detail["path"].startswith("$")
    return error


def test_every_error_status_has_the_same_shape(world, owner_client):
    bot = f"/api/v1/bots/{world.bot.pk}"
    anonymous = APIClient()
    cases = [
        (anonymous.get(bot), 401, "not_authenticated"),
        (world.client("viewer").patch(bot, {"name": "x"}, format="json"), 403, "permission_denied"),
        (owner_client.get("/api/v1/bots/00000000-0000-0000-0000-000000000000"), 404, "not_found"),
        (owner_client.get("/api/v1/no/such/thing"), 404, "not_found"),
        (owner_client.post("/api/v1/no/such/thing", {}, format="json"), 404, "not_found"),
        (owner_client.post(bot, {}, format="json"), 405, "method_not_allowed"),
        (owner_client.patch(bot, {"name": ["x"]}, format="json"), 400, "invalid"),
        (owner_client.generic("PATCH", bot, "{", content_type="application/json"), 400, "parse_error"),
        (owner_client.generic("PATCH", bot, "name=x", content_type="application/x-www-form-urlencoded"), 415,
         "unsupported_media_type"),
        (owner_client.put(f"{bot}/definition", {"baseRevision": world.bot.draft_revision + 5, "definition": bot_file()}, format="json"), 409,
         "stale_revision"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (status, response.content)
        assert _shape(response)["code"] == code


def test_a_trailing_slash_gets_a_hint(owner_client, world):
    response = owner_client.get(f"/api/v1/bots/{world.bot.pk}/")
    assert response.status_code == 404
    assert "no trailing slash" in _shape(response)["message"]


def test_nul_in_a_path_or_query_is_refused_not_a_crash(owner_client, world):
    assert owner_client.get(f"/api/v1/bots/{world.bot.pk}/conversations/a%00b").status_code == 404
    response = owner_client.get(f"/api/v1/bots/{world.bot.pk}/conversations?userId=a%00b")
    assert response.status_code == 400 and _shape(response)["details"][0]["path"] == "$query.userId"
