#!/usr/bin/env bash
# Run the studio on the embedded default (SQLite, in-memory channel layer, eager tasks, the
# periodic work on a thread of the server) with the demo bot loaded and published in the
# first owner's workspace. Needs no root and installs no test tools (scripts/setup.sh).
#
#   bash scripts/run-studio.sh [--port N] [--host ADDRESS]
#
# PORT (default 8000) and HOST (default 127.0.0.1: only this machine can connect; 0.0.0.0
# for every interface) choose where it listens; --port/--host win over them. The URLs it
# prints start with PUBLIC_URL (default http://127.0.0.1:PORT), the address people use.
#
# The first login is FLOWSTUDIO_ADMIN_EMAIL (default admin@example.com) with password
# FLOWSTUDIO_ADMIN_PASSWORD; without one, a new account gets a random password, printed once when it is made.
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL REDIS_URL

PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
while [ $# -gt 0 ]; do
    case "$1" in
        --port) PORT=${2:?--port needs a number}; shift 2 ;;
        --port=*) PORT=${1#--port=}; shift ;;
        --host) HOST=${2:?--host needs an address}; shift 2 ;;
        --host=*) HOST=${1#--host=}; shift ;;
        *) echo "run-studio.sh: unknown argument $1 (use --port N, --host ADDRESS)" >&2; exit 2 ;;
    esac
done
case "$PORT" in
    ''|*[!0-9]*) echo "run-studio.sh: the port must be a number, got '$PORT'" >&2; exit 2 ;;
esac
# Settings read PUBLIC_URL too (Chat API and embed URLs), so the studio prints the same.
export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:$PORT}
PUBLIC_URL=${PUBLIC_URL%/}

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

# FLOWSTUDIO_LLM_DEMO=1: the server's demo LLM becomes the provider "demo" of this workspace.
export FLOWSTUDIO_LLM_DEMO_WORKSPACE=${FLOWSTUDIO_LLM_DEMO_WORKSPACE:-$WORKSPACE}
case "${FLOWSTUDIO_LLM_DEMO:-}" in
    1|true|yes|on) DEMO_LLM="on: AI cards answer \"(demo) You said: ...\" (provider demo of $FLOWSTUDIO_LLM_DEMO_WORKSPACE)" ;;
    *) DEMO_LLM="off (FLOWSTUDIO_LLM_DEMO=1 turns it on; docs/ai.md)" ;;
esac

cat <<MSG

Studio:                          $PUBLIC_URL/  (log in as $ADMIN_EMAIL)
Demo bot:                        $PUBLIC_URL/bots/$BOT_ID/
Chat with it in this terminal:   .venv/bin/python manage.py bot chat $BOT_ID
Admin (bots, conversations):     $PUBLIC_URL/admin/  (same login)
Listening on:                    $HOST:$PORT
Demo LLM:                        $DEMO_LLM

MSG
# Daphne is first in INSTALLED_APPS, so runserver serves ASGI (HTTP and WebSockets).
# An IPv6 address needs brackets in runserver's ADDRESS:PORT.
case "$HOST" in *:*) ADDR="[$HOST]" ;; *) ADDR=$HOST ;; esac
exec "$PY" manage.py runserver "$ADDR:$PORT"
