#!/usr/bin/env bash
# The test setup (scripts/test.sh runs it): the runtime setup, then the tools only the tests
# use: requirements-dev.txt, Debian's Chromium for the browser tests, Node and the
# @botpress/chat test packages for the Chat API e2e suite. Installs system packages with apt
# (through sudo when not root) when they are missing. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt

apt_install() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# Browser tests drive Debian's Chromium through Playwright.
if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium
fi

# Chat API e2e tests (tests/chat_api_e2e): the @botpress/chat package's own tests run with
# vitest. npm install only when the lock file changed since the last install.
if ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
fi
LOCK_SUM=$(sha256sum tests/chat_api_e2e/package-lock.json | cut -d' ' -f1)
if [ "$(cat tests/chat_api_e2e/node_modules/.flowstudio-lock 2>/dev/null)" != "$LOCK_SUM" ]; then
    # Not `npm ci`: npm 11 refuses this lock file because it records only the optional
    # rollup binary of the platform it was made on; `install --no-save` still installs
    # exactly the locked versions and leaves the lock file untouched.
    (cd tests/chat_api_e2e && npm install --no-save --no-audit --no-fund --loglevel=error)
    echo "$LOCK_SUM" > tests/chat_api_e2e/node_modules/.flowstudio-lock
fi
