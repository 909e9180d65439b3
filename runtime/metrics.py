"""The Prometheus metrics of the runtime and its channels (served at /metrics by
studio/views/health.py; names and meanings in docs/deploy.md, "Serving, health and metrics").

Several uvicorn workers each count in their own process: with PROMETHEUS_MULTIPROC_DIR set
(scripts/serve.sh sets it), prometheus-client keeps each process's values in files there and
/metrics adds them up. That variable must be set before this module is imported.
"""
from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram

TURNS = Counter("flowstudio_turns", "Turns run, by channel and outcome (processed, failed)",
                ["channel", "outcome"])
TURN_SECONDS = Histogram("flowstudio_turn_seconds", "Engine time of one turn, by channel", ["channel"],
                         buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
ERRORS = Counter("flowstudio_errors", "Log records at ERROR or above, by logger", ["logger"])
WEBSOCKETS = Gauge("flowstudio_websocket_connections", "Open websocket connections, by path kind", ["kind"],
                   multiprocess_mode="livesum")
# Ready for the LLM cards: providers count their calls here.
LLM_CALLS = Counter("flowstudio_llm_calls", "Calls to language model providers, by provider and outcome",
                    ["provider", "outcome"])
LLM_SECONDS = Histogram("flowstudio_llm_call_seconds", "Duration of one language model call", ["provider"],
                        buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
# Measured when /metrics is read (studio/views/health.py).
EVENTS_WAITING = Gauge("flowstudio_events_waiting", "Events received and not yet processed",
                       multiprocess_mode="mostrecent")
QUEUE_DEPTH = Gauge("flowstudio_queue_depth", "Tasks waiting in a Celery queue", ["queue"],
                    multiprocess_mode="mostrecent")


def observe_turn(channel: str, outcome) -> None:
    """One finished turn (a runtime.turns.TurnOutcome)."""
    channel = channel or "unknown"
    TURNS.labels(channel, "failed" if outcome.failed else "processed").inc()
    if outcome.event.duration_ms is not None:
        TURN_SECONDS.labels(channel).observe(outcome.event.duration_ms / 1000)


class ErrorCounter(logging.Handler):
    """A logging handler (studio/settings.py LOGGING) counting error records: every place
    that logs a failure counts in `flowstudio_errors` without code of its own."""

    def __init__(self, level=logging.ERROR):
        super().__init__(level)

    def emit(self, record: logging.LogRecord) -> None:
        ERRORS.labels(record.name).inc()
