"""The production image collects static files with WhiteNoise's CompressedManifest storage
(Dockerfile, docs/deploy.md): every file gets a hashed name and a gzip copy, collectstatic
fails on a reference to a missing file (a vendored source map, for one), and pages then link
the hashed names. Run here with that storage and a temporary STATIC_ROOT."""
import re

import pytest
from django.core.management import call_command
from django.test import override_settings

pytestmark = pytest.mark.django_db

MANIFEST = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_collectstatic_hashes_and_compresses_and_pages_link_the_hashed_names(tmp_path, client):
    with override_settings(STORAGES=MANIFEST, STATIC_ROOT=tmp_path, WHITENOISE_USE_FINDERS=False):
        call_command("collectstatic", "--noinput", verbosity=0)
        assert list(tmp_path.glob("editor/editor.*.js")) and list(tmp_path.glob("editor/editor.*.js.gz"))
        assert (tmp_path / "staticfiles.json").exists()
        for page in ("/accounts/login/", "/api/v1/docs/"):
            html = client.get(page).content.decode()
            links = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
            assert links, page
            for link in links:
                # name.<12 hex digits>.ext, and the file is there.
                assert re.search(r"\.[0-9a-f]{12}\.\w+$", link), (page, link)
                assert (tmp_path / link.removeprefix("/static/")).exists(), (page, link)
