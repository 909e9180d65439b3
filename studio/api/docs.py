"""The OpenAPI schema (`/api/v1/schema/`, drf-spectacular) and the browsable docs page
(`/api/v1/docs/`, Swagger UI from drf-spectacular-sidecar: nothing is fetched from outside at
run time). Both are public: they describe the API, not anyone's data. Titles, description and
options are SPECTACULAR_SETTINGS in studio/settings.py, so `manage.py spectacular` gives the
same schema."""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from studio.api import errors

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


class SchemaView(SpectacularAPIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get_exception_handler(self):
        return errors.handle


class DocsPage(SpectacularSwaggerView):
    """Swagger UI from drf-spectacular-sidecar's files (SPECTACULAR_SETTINGS in settings)."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        self.url = reverse("api:schema") + "?format=json"
        return super().get(request, *args, **kwargs)
