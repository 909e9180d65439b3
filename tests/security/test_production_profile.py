"""Issue 14 item 10: FLOWSTUDIO_PROFILE=production passes `check --deploy` without a warning
and serves like a deployment behind a TLS proxy should (docs/security.md, "Deployment settings")."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "ci-dummy-" + "Zq8rT2vW5yB1nM4kL7jH0gF3dS6aP9oI" * 2


def run(args, *, profile, extra=None, timeout=240):
    env = {k: v for k, v in os.environ.items() if k not in ("FLOWSTUDIO_PROFILE", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(SECRET_KEY=SECRET_KEY, FLOWSTUDIO_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
               DJANGO_SETTINGS_MODULE="studio.settings", **(extra or {}))
    if profile:
        env["FLOWSTUDIO_PROFILE"] = profile
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_check_deploy_finds_nothing_in_the_production_profile_and_the_old_warnings_without_it():
    production = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], profile="production")
    assert production.returncode == 0, production.stderr
    assert "System check identified no issues" in production.stdout

    default = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], profile=None)
    assert default.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in default.stderr


SERVE = textwrap.dedent("""
    import django, json
    django.setup()
    from django.test import Client
    client = Client()
    plain = client.get("/accounts/login/")
    behind_tls = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    page = behind_tls.content.decode()
    import re
    css = re.search(r'href="(/static/[^"]+\\.css)"', page).group(1)
    asset = client.get(css, headers={"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"})
    print(json.dumps({
        "plain_status": plain.status_code, "plain_location": plain.get("Location"),
        "status": behind_tls.status_code, "hsts": behind_tls.get("Strict-Transport-Security"),
        "csrf_cookie": str(behind_tls.cookies.get("csrftoken")), "css": css,
        "asset_status": asset.status_code, "asset_cache": asset.get("Cache-Control"),
        "asset_encoding": asset.get("Content-Encoding"),
    }))
""")


@pytest.mark.django_db(transaction=True)
def test_the_production_profile_redirects_to_https_sets_hsts_secure_cookies_and_hashed_static_files(tmp_path):
    import json

    from django.db import connection

    s = connection.settings_dict
    database_url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    extra = {"STATIC_ROOT": str(tmp_path / "static"), "DATABASE_URL": database_url, "STUDIO_LIVE_TEST_DB": s["NAME"],
             "ALLOWED_HOSTS": "testserver"}
    collected = run(["manage.py", "collectstatic", "--noinput"], profile="production", extra=extra)
    assert collected.returncode == 0, collected.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()

    served = run(["-c", SERVE], profile="production", extra=extra)
    assert served.returncode == 0, served.stderr
    seen = json.loads(served.stdout.strip().splitlines()[-1])
    assert seen["plain_status"] == 301 and seen["plain_location"] == "https://testserver/accounts/login/"
    assert seen["status"] == 200
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "Secure" in seen["csrf_cookie"] and "HttpOnly" not in seen["csrf_cookie"]
    # A hashed name (style.0123abcd4567.css) served compressed and cached for good.
    assert len(Path(seen["css"]).suffixes) >= 2
    assert seen["asset_status"] == 200 and seen["asset_encoding"] == "gzip"
    assert "immutable" in seen["asset_cache"]
