"""Intent benchmark: train on the labelled set, classify the separate test set, print
accuracy and milliseconds per message on one core.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/intents.py
"""

import json
import os
import sys
import time
from pathlib import Path

# One core, as a production worker sharing the machine would get; must be set before numpy loads.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runtime.engine.nlu.encoder import get_encoder  # noqa: E402
from runtime.engine.nlu.intents import DEFAULT_THRESHOLD, IntentModel  # noqa: E402

DATA = ROOT / "runtime/engine/nlu/tests/data/intents_benchmark.json"


def main() -> None:
    data = json.loads(DATA.read_text())
    started = time.perf_counter()
    get_encoder()
    loaded = time.perf_counter()
    model = IntentModel.train(data["intents"])
    trained = time.perf_counter()
    model.classify("warm up")
    correct, misses, timings = 0, [], []
    for case in data["test"]:
        t0 = time.perf_counter()
        result = model.classify(case["text"], DEFAULT_THRESHOLD)
        timings.append(time.perf_counter() - t0)
        if result.intent == case["intent"]:
            correct += 1
        else:
            misses.append((case["text"], case["intent"], result.intent, result.confidence))
    rejected = sum(model.classify(t, DEFAULT_THRESHOLD).intent == "none" for t in data["out_of_scope"])
    total = len(data["test"])
    timings.sort()
    utterances = sum(len(i["utterances"]) for i in data["intents"])
    print(f"model load {1000 * (loaded - started):.0f} ms; train {utterances} utterances "
          f"{1000 * (trained - loaded):.0f} ms")
    print(f"accuracy {correct}/{total} = {correct / total:.1%} at threshold {DEFAULT_THRESHOLD}")
    print(f"per message: mean {1000 * sum(timings) / total:.1f} ms, p95 {1000 * timings[int(0.95 * total)]:.1f} ms")
    print(f"out-of-scope messages answered 'none': {rejected}/{len(data['out_of_scope'])}")
    for text, expected, got, confidence in misses:
        print(f"  miss: {text!r}: expected {expected}, got {got} ({confidence:.2f})")


if __name__ == "__main__":
    main()
