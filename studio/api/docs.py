"""The OpenAPI schema (`/api/v1/schema/`, drf-spectacular) and the browsable docs page
(`/api/v1/docs/`, Swagger UI vendored under static/vendor/swagger-ui/: nothing is fetched
from outside at run time). Both are public: they describe the API, not anyone's data."""
from __future__ import annotations

from pathlib import Path

from django.http import HttpResponse
from django.template import Context, Engine
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_safe
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from studio.api import errors
from studio.people.models import Role
from studio.people.workspaces import INVITABLE_ROLES

TEMPLATES = Engine(dirs=[str(Path(__file__).resolve().parent / "templates")])

DESCRIPTION = """
The REST API of Flowstudio: workspaces, members, bots and everything a bot is made of,
its versions, conversations, users, messages and the state API.

- **Auth**: `Authorization: Bearer <personal access token>` (make one on your profile's
  Tokens page or with `POST /api/v1/tokens`), or the studio's session cookie (writes then
  need the `X-CSRFToken` header).
- **Errors** all look like `{"error": {"code", "message", "details": [{"path", "message"}]}}`.
- **Lists** page with `limit` and `nextToken`; the answer's `meta.nextToken` is null on the last page.
- **Saves** of the bot definition carry `baseRevision`; a stale one is answered 409.

The full guide is docs/rest-api.md in the Flowstudio repository.
"""

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "invalid"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["path", "message"],
                        "properties": {"path": {"type": "string", "example": "$.name"},
                                       "message": {"type": "string"}},
                    },
                },
            },
            "additionalProperties": True,
        }
    },
}

_ERROR_STATUSES = {"400": "invalid request", "401": "not authenticated", "403": "your role does not allow this",
                   "404": "not found (or not in your workspaces)"}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: the shared error shape on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in _ERROR_STATUSES.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code[0] in "45" and "content" not in response:
                    response["content"] = {"application/json": {"schema": reference}}
    return result


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "studio.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "a personal access token (fs_pat_...)"}


SCHEMA_SETTINGS = {
    "TITLE": "Flowstudio REST API",
    "DESCRIPTION": DESCRIPTION,
    "VERSION": "1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": [role.value for role in Role],
        "InvitableRoleEnum": [role.value for role in INVITABLE_ROLES],
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "studio.api.docs.add_error_responses"],
}


class SchemaView(SpectacularAPIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    custom_settings = SCHEMA_SETTINGS

    def get_exception_handler(self):
        return errors.handle


@require_safe
def docs_page(request):
    html = TEMPLATES.get_template("docs.html").render(Context({
        "css_url": static("vendor/swagger-ui/swagger-ui.css"),
        "js_url": static("vendor/swagger-ui/swagger-ui-bundle.js"),
        "schema_url": reverse("api:schema") + "?format=json",
    }))
    return HttpResponse(html)
