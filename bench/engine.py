"""Engine throughput on the 20-node example bot (examples/bench20.bot.json).

Measures engine time only (no database): turns per second and CPU time per turn, split
into turns that run no Execute Code card and turns that run one small code card.

Each is judged against a floor measured in the same run, on the same messages, so the
verdict does not depend on how fast the machine is: the floor of a turn is handling its
data once (the state, the event, the user and the bot variables through a JSON round trip,
as the turn service stores them); a code turn's floor adds one call into a warm V8 context
running the card's one line. `--check` exits 1 when a mean is over CHECK_MAX_RATIO times
its floor. The original absolute targets (issue: foundation; 0.5 ms per turn without code,
2 ms with a small code card, on the 2-core machine) are printed beside, not judged.

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

from runtime.engine import TurnInput, compile_bot, run_turn

TARGET_MS = {"no_code": 0.5, "code": 2.0}  # reported, not judged (an absolute time)
# CI bar (--check): mean CPU per turn as a multiple of its floor's, set from measurements on
# the 2-core machine quiet and with a neighbour keeping one core busy (docs/performance.md).
CHECK_MAX_RATIO = {"no_code": 12.0, "code": 12.0}
CODE_LINE = "workflow.count = (workflow.count || 0) + 1"
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
    return {"cpu": cpu, "wall": time.perf_counter() - wall_start}


_racer = None


def _floor(messages: list[str], turns: int, with_code: bool) -> dict:
    """The floor of the same turns: each turn's data through a JSON round trip (and, for code
    turns, one warm V8 call running a card's one line)."""
    global _racer
    if with_code and _racer is None:
        from runtime.engine.sandbox import _new_racer

        # Warm, reused, as the engine keeps one context per bot; made on the sandbox's one
        # context thread: V8 crashes the process when contexts are made on two threads.
        _racer = _new_racer()
        _racer.eval("var workflow = {};")
    racer = _racer if with_code else None
    state = {"frames": [{"flow": "main", "node": "start", "card": 0}], "workflow": {}}
    user: dict = {}
    bot: dict = {}
    cpu: list[float] = []
    for n in range(turns):
        event = _event(messages[n % len(messages)], n)
        c0 = time.process_time_ns()
        data = json.loads(json.dumps({"state": state, "event": event, "user": user, "bot": bot}))
        if racer is not None:
            racer.eval(CODE_LINE)
        state = data["state"]
        cpu.append((time.process_time_ns() - c0) / 1e6)
    return {"cpu_ms_mean": round(statistics.fmean(cpu), 4)}


def _alternating(build, messages: list[str], turns: int, with_code: bool, blocks: int = 10) -> dict:
    engine, floor = [], []
    for _ in range(blocks):
        engine.append(_run(build, messages, turns // blocks))
        floor.append(_floor(messages, turns // blocks, with_code))
    cpu = sorted(ms for block in engine for ms in block.pop("cpu"))
    floor_mean = statistics.fmean(block["cpu_ms_mean"] for block in floor)
    mean = statistics.fmean(cpu)
    return {
        "turns": len(cpu),
        "turns_per_s": round(len(cpu) / sum(block["wall"] for block in engine), 1),
        "cpu_ms_mean": round(mean, 4),
        "cpu_ms_p50": round(cpu[len(cpu) // 2], 4),
        "cpu_ms_p99": round(cpu[int(len(cpu) * 0.99) - 1], 4),
        "floor_cpu_ms_mean": round(floor_mean, 4),
        "ratio_to_floor": round(mean / floor_mean, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer turns (CI)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a mean is over its CI bar (a multiple of its floor)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    definition = json.loads((ROOT / "examples" / "bench20.bot.json").read_text())
    build = compile_bot(definition, key="bench20")
    # Warm-up: the first code card creates the bot's V8 context (about 15 ms, once per process).
    _run(build, NO_CODE_MESSAGES + CODE_MESSAGES, 50)

    n_plain, n_code = (3_000, 500) if args.quick else (30_000, 5_000)
    # Engine and floor alternate in blocks, so a neighbour's burst weighs on both alike.
    report = {
        "no_code": _alternating(build, NO_CODE_MESSAGES, n_plain, with_code=False),
        # Each order turn enters main/classify, the checkout flow and one code card.
        "code": _alternating(build, CODE_MESSAGES, n_code, with_code=True),
    }
    failed = [k for k, r in report.items() if r["ratio_to_floor"] > CHECK_MAX_RATIO[k]]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"engine benchmark, bot {build.name!r} ({sum(len(f.nodes) for f in build.flows.values())} nodes)")
        for kind, r in report.items():
            print(f"  {kind:8} {r['turns']:6} turns  {r['turns_per_s']:9.1f} turns/s  "
                  f"cpu/turn mean {r['cpu_ms_mean']:.4f} ms  p50 {r['cpu_ms_p50']:.4f} ms  p99 {r['cpu_ms_p99']:.4f} ms  "
                  f"(original target mean < {TARGET_MS[kind]} ms)")
            print(f"  {'':8} floor mean {r['floor_cpu_ms_mean']:.4f} ms: the turn costs {r['ratio_to_floor']:.1f}x "
                  f"its floor (CI bar <= {CHECK_MAX_RATIO[kind]:.0f}x)")
    if failed and args.check:
        print(f"over the CI bar: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
