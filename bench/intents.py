"""Intent benchmark: train on the labelled set, classify the separate test set and the
independent held-out set, print accuracy and milliseconds per message on one core, and
what understanding costs a turn.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/intents.py

The test set was written alongside the model's calibration (its constants were chosen
looking at it); the held-out set was written afterwards without running the model on it
and is never used to tune anything. Report them separately.
"""

import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

# One core, as a production worker sharing the machine would get; must be set before numpy loads.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runtime.engine import DEFAULT_SETTINGS, TurnInput, compile_bot, run_turn  # noqa: E402
from runtime.engine.nlu.encoder import get_encoder  # noqa: E402
from runtime.engine.nlu.intents import DEFAULT_THRESHOLD, IntentModel  # noqa: E402

DATA_DIR = ROOT / "runtime/engine/nlu/tests/data"
DATA = DATA_DIR / "intents_benchmark.json"
HELD_OUT = DATA_DIR / "intents_heldout.json"


BOT_THRESHOLD = DEFAULT_SETTINGS["intentConfidence"]  # what a bot gets unless it sets intentConfidence


def evaluate(model: IntentModel, cases: list[dict], out_of_scope: list[str]) -> dict:
    correct, at_bot_default, best_only, misses, timings = 0, 0, 0, [], []
    for case in cases:
        t0 = time.perf_counter()
        result = model.classify(case["text"], DEFAULT_THRESHOLD)
        timings.append(time.perf_counter() - t0)
        correct += result.intent == case["intent"]
        at_bot_default += result.intent == case["intent"] and result.confidence >= BOT_THRESHOLD
        best_only += bool(result.ranking) and result.ranking[0][0] == case["intent"]
        if result.intent != case["intent"]:
            misses.append((case["text"], case["intent"], result.intent, result.confidence))
    rejected = 0
    for text in out_of_scope:
        result = model.classify(text, DEFAULT_THRESHOLD)
        rejected += result.intent == "none"
        if result.intent != "none":
            misses.append((text, "none", result.intent, result.confidence))
    timings.sort()
    return {"correct": correct, "at_bot_default": at_bot_default, "best_only": best_only, "total": len(cases), "misses": misses,
            "rejected": rejected, "out_of_scope": len(out_of_scope), "timings": timings}


def report(title: str, r: dict, show_misses: bool) -> None:
    total = r["total"]
    print(f"{title}: accuracy {r['correct']}/{total} = {r['correct'] / total:.1%} at threshold {DEFAULT_THRESHOLD} "
          f"(at the bots' default {BOT_THRESHOLD}: {r['at_bot_default'] / total:.1%}; "
          f"best intent regardless of confidence: {r['best_only'] / total:.1%}); "
          f"off-topic answered 'none': {r['rejected']}/{r['out_of_scope']}")
    print(f"  per message: mean {1000 * sum(r['timings']) / total:.1f} ms, "
          f"p95 {1000 * r['timings'][int(0.95 * total)]:.1f} ms")
    if show_misses:
        for text, expected, got, confidence in r["misses"]:
            print(f"  miss: {text!r}: expected {expected}, got {got} ({confidence:.2f})")


def turn_cost(intents: list[dict], messages: list[str]) -> None:
    """What understanding adds to one turn of a published bot: event.nlu (the message encoded
    once, library intents ranked, system and custom entities) plus three Intent cards."""
    names = [i["name"] for i in intents]
    definition = {
        "format": "flowstudio.bot/1", "name": "bench", "intents": intents,
        "entities": [{"name": "order_number", "type": "pattern", "pattern": r"\b[A-Z]{2}-\d{4}\b"}],
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "route"},
            {"id": "route", "kind": "standard", "next": "other", "cards": [
                {"id": f"is-{n}", "type": "intent", "intent": n, "next": "hit"} for n in names[:3]]},
            {"id": "hit", "kind": "standard", "cards": [{"id": "t1", "type": "text", "text": "hit"}]},
            {"id": "other", "kind": "standard", "cards": [{"id": "t2", "type": "text", "text": "other"}]},
        ]}],
    }
    stored = compile_bot(definition).nlu.model.to_bytes()  # what publish stores
    build = compile_bot(definition, intent_model=stored)
    now = datetime.now(timezone.utc)
    build.nlu.analyse("warm up", now=now, tz="UTC")
    # CPU time as well as wall time: on a shared machine the wall clock also counts waiting.
    nlu_times, nlu_cpu, turn_times, turn_cpu = [], [], [], []
    for text in messages:
        t0, c0 = time.perf_counter(), time.process_time()
        build.nlu.analyse(text, now=now, tz="UTC").event_value()
        nlu_times.append(time.perf_counter() - t0)
        nlu_cpu.append(time.process_time() - c0)
        c0 = time.process_time()
        result = run_turn(build, TurnInput(state={}, event={"type": "text", "payload": {"text": text}}))
        turn_cpu.append(time.process_time() - c0)
        turn_times.append(result.ms / 1000)
    for label, times, cpu in (("event.nlu per turn", nlu_times, nlu_cpu),
                              ("whole turn with 3 Intent cards", turn_times, turn_cpu)):
        times.sort()
        cpu.sort()
        n = len(times)
        print(f"{label}: wall mean {1000 * sum(times) / n:.1f} ms, p95 {1000 * times[int(0.95 * n)]:.1f} ms; "
              f"cpu mean {1000 * sum(cpu) / n:.1f} ms, p95 {1000 * cpu[int(0.95 * n)]:.1f} ms "
              f"({n} messages, stored model, one core)")


def main() -> None:
    data = json.loads(DATA.read_text())
    held_out = json.loads(HELD_OUT.read_text())
    started = time.perf_counter()
    get_encoder()
    loaded = time.perf_counter()
    model = IntentModel.train(data["intents"])
    trained = time.perf_counter()
    model.classify("warm up")
    utterances = sum(len(i["utterances"]) for i in data["intents"])
    print(f"model load {1000 * (loaded - started):.0f} ms; train {utterances} utterances "
          f"{1000 * (trained - loaded):.0f} ms")
    show = "--misses" in sys.argv
    report("tuning test set (200, calibrated on it)", evaluate(model, data["test"], data["out_of_scope"]), show)
    report("held-out set (never tuned on)", evaluate(model, held_out["test"], held_out["out_of_scope"]), show)
    turn_cost(data["intents"], [c["text"] for c in data["test"]])


if __name__ == "__main__":
    main()
