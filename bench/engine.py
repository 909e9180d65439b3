"""Engine throughput on the 20-node example bot (examples/bench20.bot.json).

Measures engine time only (no database): turns per second and CPU time per turn, split
into turns that run no Execute Code card and turns that run one small code card.
Targets (issue: foundation): under 0.5 ms per turn without code, under 2 ms with a small
code card. `--check` exits 1 when a mean misses its target.

    python bench/engine.py            # full run
    python bench/engine.py --quick    # what CI runs
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runtime.engine import TurnInput, compile_bot, run_turn  # noqa: E402

TARGET_MS = {"no_code": 0.5, "code": 2.0}
# Paths documented in the bot's description: every message but "order"/"bulk order" stays in Python.
NO_CODE_MESSAGES = ["help", "hi", "what can you do for me", "this is a rather long message that goes past forty chars", "bye"]
CODE_MESSAGES = ["order", "bulk order"]


def _event(text: str, n: int) -> dict:
    return {"type": "text", "payload": {"text": text}, "preview": text, "id": f"e{n}",
            "userId": "bench-user", "conversationId": "bench-conv", "channel": "bench"}


def _run(build, messages: list[str], turns: int) -> dict:
    state: dict = {}
    user = build.user_defaults()
    bot = build.bot_defaults()
    cpu: list[float] = []
    wall_start = time.perf_counter()
    for n in range(turns):
        text = messages[n % len(messages)]
        c0 = time.process_time_ns()
        result = run_turn(build, TurnInput(state, _event(text, n), user, bot, {}))
        cpu.append((time.process_time_ns() - c0) / 1e6)
        if result.error:
            raise SystemExit(f"bench bot raised an error on {text!r}: {result.error['message']}")
        state, user = result.state, result.user
        bot.update(result.bot_changes)
    wall = time.perf_counter() - wall_start
    cpu.sort()
    return {
        "turns": turns,
        "turns_per_s": round(turns / wall, 1),
        "cpu_ms_mean": round(statistics.fmean(cpu), 4),
        "cpu_ms_p50": round(cpu[len(cpu) // 2], 4),
        "cpu_ms_p99": round(cpu[int(len(cpu) * 0.99) - 1], 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer turns (CI)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a mean misses its target")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    definition = json.loads((ROOT / "examples" / "bench20.bot.json").read_text())
    build = compile_bot(definition, key="bench20")
    # Warm-up: the first code card creates the bot's V8 context (about 15 ms, once per process).
    _run(build, NO_CODE_MESSAGES + CODE_MESSAGES, 50)

    n_plain, n_code = (3_000, 500) if args.quick else (30_000, 5_000)
    report = {
        "no_code": _run(build, NO_CODE_MESSAGES, n_plain),
        # Each order turn enters main/classify, the checkout flow and one code card.
        "code": _run(build, CODE_MESSAGES, n_code),
    }
    failed = [k for k, r in report.items() if r["cpu_ms_mean"] >= TARGET_MS[k]]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"engine benchmark, bot {build.name!r} ({sum(len(f.nodes) for f in build.flows.values())} nodes)")
        for kind, r in report.items():
            print(f"  {kind:8} {r['turns']:6} turns  {r['turns_per_s']:9.1f} turns/s  "
                  f"cpu/turn mean {r['cpu_ms_mean']:.4f} ms  p50 {r['cpu_ms_p50']:.4f} ms  p99 {r['cpu_ms_p99']:.4f} ms  "
                  f"(target mean < {TARGET_MS[kind]} ms)")
    if failed and args.check:
        print(f"missed target: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
