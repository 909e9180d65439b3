#!/usr/bin/env bash
# The production layout without containers (docs/deploy.md, "Serving, health and metrics"):
#
#   scripts/serve.sh          migrate, collect static files, then web + worker + beat
#   scripts/serve.sh web      only the web server: WEB_CONCURRENCY uvicorn workers
#   scripts/serve.sh worker   only a Celery worker (CELERY_CONCURRENCY processes)
#   scripts/serve.sh beat     only Celery beat (run exactly one per installation)
#
# Needs DATABASE_URL and REDIS_URL (PostgreSQL and Redis), SECRET_KEY and ALLOWED_HOSTS.
# HOST (default 0.0.0.0), PORT (8000), WEB_CONCURRENCY (2), CELERY_CONCURRENCY (2),
# FORWARDED_ALLOW_IPS (127.0.0.1: the proxies whose X-Forwarded-* headers are believed).
# The test suite starts `serve.sh web` for its live servers, so CI runs this configuration.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
HOST=${HOST:-0.0.0.0}
PORT=${PORT:-8000}
WEB_CONCURRENCY=${WEB_CONCURRENCY:-2}
CELERY_CONCURRENCY=${CELERY_CONCURRENCY:-2}
export FLOWSTUDIO_JSON_LOGS=${FLOWSTUDIO_JSON_LOGS:-true}
export LOG_LEVEL=${LOG_LEVEL:-INFO}
VAR_DIR=${FLOWSTUDIO_VAR_DIR:-var}
# Each uvicorn worker keeps its metrics in files here; /metrics adds them up.
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$VAR_DIR/prometheus}

if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
    echo "serve.sh: set DATABASE_URL (PostgreSQL) and REDIS_URL (Redis); run-studio.sh is the embedded default" >&2
    exit 2
fi

web() {
    # Stale files of an earlier run would be added to this one's counts.
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    exec "$PY" -m uvicorn studio.asgi:application --host "$HOST" --port "$PORT" \
        --workers "$WEB_CONCURRENCY" --loop uvloop --http httptools --ws websockets \
        --lifespan off --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
        --timeout-graceful-shutdown 20 --log-level "$(echo "$LOG_LEVEL" | tr '[:upper:]' '[:lower:]')"
}

worker() {
    exec "$PY" -m celery -A studio worker --concurrency "$CELERY_CONCURRENCY" --loglevel "$LOG_LEVEL"
}

beat() {
    mkdir -p "$VAR_DIR"
    exec "$PY" -m celery -A studio beat --loglevel "$LOG_LEVEL" --schedule "$VAR_DIR/celerybeat-schedule"
}

case "${1:-all}" in
    web) web ;;
    worker) worker ;;
    beat) beat ;;
    all)
        "$PY" manage.py migrate --noinput
        "$PY" manage.py collectstatic --noinput >/dev/null
        # One process group: when any of the three exits, the others are stopped too, and
        # the exit status is the one that failed (a supervisor restarts the whole set).
        "$0" worker & worker_pid=$!
        "$0" beat & beat_pid=$!
        "$0" web & web_pid=$!
        trap 'kill -TERM $web_pid $worker_pid $beat_pid 2>/dev/null || true' INT TERM EXIT
        status=0
        wait -n || status=$?
        exit "$status"
        ;;
    *) echo "usage: scripts/serve.sh [all|web|worker|beat]" >&2; exit 2 ;;
esac
