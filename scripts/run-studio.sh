#!/usr/bin/env bash
# Run the studio on the embedded default (SQLite, in-memory channel layer, eager tasks)
# with the demo bot loaded and published in the first owner's workspace.
#
# The first login is FLOWSTUDIO_ADMIN_EMAIL (default admin@example.com) with password
# FLOWSTUDIO_ADMIN_PASSWORD; without one, a new account gets a random password, printed once when it is made.
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL REDIS_URL

bash scripts/setup.sh
PY=.venv/bin/python
# WhiteNoise serves static files from STATIC_ROOT, also under runserver with DEBUG off.
"$PY" manage.py collectstatic --noinput >/dev/null

ADMIN_EMAIL=${FLOWSTUDIO_ADMIN_EMAIL:-admin@example.com}
# The owner of every workspace nobody belongs to, and of a new one if they have none.
WORKSPACE=$("$PY" manage.py create_owner --email "$ADMIN_EMAIL" --password "${FLOWSTUDIO_ADMIN_PASSWORD:-}" \
    --workspace "Demo workspace")

DEMO_NAME=$("$PY" -c 'import json; print(json.load(open("examples/demo.bot.json"))["name"])')
if "$PY" manage.py bot info "$DEMO_NAME" >/dev/null 2>&1; then
    BOT_ID=$("$PY" manage.py bot info "$DEMO_NAME" | sed -n 's/^id: //p')
    echo "Demo bot already loaded."
else
    BOT_ID=$("$PY" manage.py bot import examples/demo.bot.json --workspace "$WORKSPACE")
    "$PY" manage.py bot publish "$BOT_ID" --note "demo bot, loaded by run-studio.sh"
fi

cat <<MSG

Studio:                          http://127.0.0.1:8000/  (log in as $ADMIN_EMAIL)
Demo bot:                        http://127.0.0.1:8000/bots/$BOT_ID/
Chat with it in this terminal:   .venv/bin/python manage.py bot chat $BOT_ID
Admin (bots, conversations):     http://127.0.0.1:8000/admin/  (same login)

MSG
# Daphne is first in INSTALLED_APPS, so runserver serves ASGI (HTTP and WebSockets).
exec "$PY" manage.py runserver 0.0.0.0:8000
