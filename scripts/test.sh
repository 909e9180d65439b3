#!/usr/bin/env bash
# The whole check, as CI runs it: PostgreSQL + Redis, system checks, the import contract,
# migrations up to date, browser tests, the test suite in parallel, and the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! pg_isready -q -h 127.0.0.1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
if ! redis-cli ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 && redis-cli ping >/dev/null 2>&1; then break; fi
    sleep 1
done
pg_isready -q -h 127.0.0.1 || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
redis-cli ping >/dev/null || { echo "Redis did not come up on 127.0.0.1:6379" >&2; exit 1; }

# Tests create their own databases; this one lets migrate/makemigrations check the real thing
# and holds the benchmarks' bots. Made afresh on every run: rows left by an earlier run (or
# another checkout, with other keys) could not be decrypted with this checkout's keys, and a
# developer's own `flowstudio` database is never touched.
dropdb -h 127.0.0.1 -U postgres --if-exists --force flowstudio_check
createdb -h 127.0.0.1 -U postgres flowstudio_check
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/flowstudio_check
export REDIS_URL=redis://127.0.0.1:6379/0
export OPENBLAS_NUM_THREADS=1
# DEBUG is off on PostgreSQL, so the studio wants a real-looking SECRET_KEY and an encryption
# key (docs/security.md). Throwaway ones, made once per checkout in the ignored var/; never
# committed.
mkdir -p var
if [ ! -s var/ci-keys.env ]; then
    python3 -c 'import base64, os, secrets
print("SECRET_KEY=" + secrets.token_urlsafe(50))
print("FLOWSTUDIO_ENCRYPTION_KEYS=" + base64.urlsafe_b64encode(os.urandom(32)).decode())' > var/ci-keys.env
fi
set -a
. var/ci-keys.env
set +a

bash scripts/setup-tests.sh
PY=.venv/bin/python

"$PY" manage.py check
# The house imports one way (docs/architecture.md): a wrong arrow fails with the import named.
.venv/bin/lint-imports
# The production profile (docs/security.md, "Deployment settings"): no deployment warning.
FLOWSTUDIO_PROFILE=production "$PY" manage.py check --deploy --fail-level WARNING
# The REST API's OpenAPI schema: valid, and no drf-spectacular warning (docs/rest-api.md).
"$PY" manage.py spectacular --validate --fail-on-warn --file /dev/null
"$PY" manage.py makemigrations --check --dry-run

# pytest exits 5 when it collects nothing: acceptable only while no browser test exists.
status=0
.venv/bin/pytest -m browser || status=$?
if [ "$status" -eq 5 ] && ! grep -rqs --include='test_*.py' 'mark.browser' tests runtime flows studio integrations; then
    echo "no browser tests yet"
elif [ "$status" -ne 0 ]; then
    exit "$status"
fi

# The embedded default (SQLite, no DATABASE_URL or REDIS_URL): every documented list filter
# answers there as on PostgreSQL, and knowledge search uses its FTS5 table (a few seconds each,
# in-memory database).
env -u DATABASE_URL -u REDIS_URL .venv/bin/pytest -q tests/api/test_list_filters.py \
    runtime/knowledge/tests/test_word_search.py runtime/knowledge/tests/test_knowledge.py

# The bulk of the suite runs last so its summary closes the log (tests/fuzz included).
.venv/bin/pytest -n 2 -m "not browser"

# Benchmarks (docs/performance.md, docs/performance-webchat.md) judge ratios to a floor or a
# peer measured in the same run, never absolute times, so a slower or busier CI machine
# does not fail them. Together about 2.5 minutes on the shared 2-core machine.
# Engine: CPU per turn against a floor (the turn's data through JSON, one warm V8 call).
"$PY" bench/engine.py --quick --check
# The Chat API over real HTTP, 20 users: Flowstudio's turns/s as a fraction of the floor's
# (bench/floor.py, bare ASGI + the same PostgreSQL work) and its p99 against the floor's,
# two runs of each, alternating.
"$PY" bench/chat_api.py --quick --check --rounds 2
# One tenant's busy-looping bot beside another tenant's Chat API (issue 14): the quiet
# tenant's p99 beside the noisy one at most 4x its p99 alone, in the same run.
"$PY" bench/noisy_neighbour.py --quick --max-ratio 4
# The webchat over websockets, 20 widgets: bot turns/s as a fraction of a bare Channels echo
# on the same server, two runs of each, alternating; then idle connections held, memory each.
"$PY" bench/webchat_ws.py --quick --check

# Webchat widget (docs/performance-webchat.md): size gzipped, first paint of the button
# against a floor page.
"$PY" bench/widget.py --check
# LLM turns (issue 15): 200 conversations waiting at once on a 2 s streamed answer of the
# scripted LLM server, over the Chat API: the last answer's wall time against the scripted
# 2 s, CPU per LLM turn against a plain turn's and the Chat API's p99 during that load
# against its p99 alone, all in the same run.
"$PY" bench/llm_turns.py --quick --check
# The dashboard's Conversations pages (issue 18) on a bot with 10,000 conversations against a
# bot with a tenth of them, in the same run: ten times the rows must not cost three times the
# time (every page an index range scan). Seeding takes about half a minute.
"$PY" bench/dashboard.py --quick --check
echo "all checks passed"
