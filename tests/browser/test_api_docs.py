"""The REST API docs page in Chromium: Swagger UI from drf-spectacular-sidecar loads from
the studio's own static files (no CDN) and lists the API's operations from the schema."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_docs_page_lists_the_operations_from_local_files(page):
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(("http://127.0.0.1", "http://localhost", "data:")) else None)
    page.goto("/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Flowstudio REST API")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/workspaces").first).to_be_visible()
    expect(page.locator(".opblock-summary-path[data-path='/api/v1/bots/{bot_id}']").first).to_be_visible()
    assert outside == []
