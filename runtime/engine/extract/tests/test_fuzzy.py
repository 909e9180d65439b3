"""rapidfuzz's OSA distance gives exactly the answers of the pure-Python Damerau-Levenshtein
it replaced (kept below only as the reference), on a large seeded random sample."""

import random
import time

from runtime.engine.extract.fuzzy import edit_distance, find_phrase, words


def reference_distance(a: str, b: str, limit: int) -> int:
    """The implementation fuzzy.py used before rapidfuzz, unchanged."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


VOCABULARY = ("bombay mumbai large medium small newyork london paris pizza pepperoni margherita "
              "delivery pickup tomorrow cancel subscription refund order status café naïve straße "
              "größe ñandú 東京 ابوظبي").split()


def _typo(rng: random.Random, word: str) -> str:
    chars = list(word)
    for _ in range(rng.randint(0, 3)):
        op = rng.choice("swap insert delete replace")
        at = rng.randrange(len(chars) + 1)
        if op == "swap" and len(chars) > 1:
            at = min(at, len(chars) - 2)
            chars[at], chars[at + 1] = chars[at + 1], chars[at]
        elif op == "insert":
            chars.insert(at, rng.choice("aeioulnrstxyzé"))
        elif chars and op == "delete":
            del chars[min(at, len(chars) - 1)]
        elif chars:
            chars[min(at, len(chars) - 1)] = rng.choice("aeioulnrst")
    return "".join(chars)


def sample(n: int, seed: int = 13) -> list[tuple[str, str, int]]:
    rng = random.Random(seed)
    pairs = []
    for k in range(n):
        if k % 3 == 0:  # unrelated strings over a small alphabet: many near misses and swaps
            a = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 12)))
            b = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 12)))
        else:  # a word and a typed version of it, as the choice and entity matchers see them
            a = rng.choice(VOCABULARY)
            b = _typo(rng, a if k % 3 == 1 else rng.choice(VOCABULARY))
        pairs.append((a, b, rng.choice((0, 1, 1, 2, 2, 3, 20))))
    return pairs


def test_same_distances_as_the_reference_on_60000_pairs(capsys):
    pairs = sample(60_000)
    started = time.perf_counter()
    expected = [reference_distance(a, b, limit) for a, b, limit in pairs]
    reference_s = time.perf_counter() - started
    started = time.perf_counter()
    actual = [edit_distance(a, b, limit) for a, b, limit in pairs]
    rapidfuzz_s = time.perf_counter() - started
    # Past the limit the old code returned wherever its early exit stopped (limit + 1 or more);
    # every caller only asks "within the limit?", and rapidfuzz answers limit + 1 there.
    mismatches = [(p, e, a) for p, e, a in zip(pairs, expected, actual) if min(e, p[2] + 1) != a]
    assert not mismatches, mismatches[:10]
    # The sample exercises every outcome: exact, within the limit, and past it.
    assert {0, 1, 2, 3} <= set(expected) and sum(e > p[2] for p, e in zip(pairs, expected)) > 10_000
    speedup = reference_s / rapidfuzz_s
    with capsys.disabled():
        print(f"\nedit_distance on {len(pairs)} pairs: reference {reference_s * 1000:.0f} ms, "
              f"rapidfuzz {rapidfuzz_s * 1000:.0f} ms, {speedup:.1f}x faster")
    # A ratio measured in the same run, far below the usual figure, so a busy machine cannot fail it.
    assert speedup > 3


def test_swaps_count_once_and_the_limit_caps_the_answer():
    assert edit_distance("bombay", "bmobay", 2) == 1
    assert edit_distance("ca", "abc", 5) == 3  # optimal string alignment, not unrestricted Damerau
    assert edit_distance("pepperoni", "pizza", 2) == 3
    assert edit_distance("", "", 0) == 0


def test_phrases_still_match_with_typos_and_without_spaces():
    assert find_phrase(words("new york"), words("flying to newyork tomorrow"), "medium") == (0, 2)
    assert find_phrase(words("large pizza"), words("a lrage piza please"), "loose") == (2, 1)
    assert find_phrase(words("large pizza"), words("a lrage piza please"), "strict") is None
