"""Runs every answer in cases.py and prints a per-kind report; any failing case fails."""

from collections import Counter

import pytest

from runtime.engine.extract import KINDS, OptionsError, extract, mask_sensitive

from .cases import CASES, NOW, REFUSED, TZ


def _matches(expected, actual) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        return isinstance(actual, (int, float)) and not isinstance(actual, bool) and actual == pytest.approx(
            expected, rel=1e-4, abs=0.01)
    if isinstance(expected, dict):
        return isinstance(actual, dict) and expected.keys() == actual.keys() and all(
            _matches(expected[k], actual[k]) for k in expected)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(
            _matches(e, a) for e, a in zip(expected, actual))
    return type(expected) is type(actual) and expected == actual


def run_case(case) -> tuple[bool, str]:
    result = extract(case["kind"], case["text"], case["options"], now=NOW, tz=TZ)
    if case["expected"] is REFUSED:
        good = not result.ok and result.value is None and bool(result.reason)
        return good, f"expected a refusal, got {result.value!r}"
    good = result.ok and result.reason is None and _matches(case["expected"], result.value)
    return good, f"expected {case['expected']!r}, got {result.value!r} ({result.reason})"


def test_every_case(capsys):
    totals, failures_by_kind, gaps = Counter(), Counter(), Counter()
    failures = []
    for case in CASES:
        good, detail = run_case(case)
        totals[case["kind"]] += 1
        if case["gap"]:
            gaps[case["kind"]] += 1
            continue
        if not good:
            failures_by_kind[case["kind"]] += 1
            failures.append(f"{case['kind']}: {case['text']!r}: {detail}")
    with capsys.disabled():
        print(f"\n{'kind':18} cases failed gaps")
        for kind in sorted(totals):
            print(f"{kind:18} {totals[kind]:5} {failures_by_kind[kind]:6} {gaps[kind]:4}")
        total = sum(totals.values())
        print(f"{'all':18} {total:5} {len(failures):6} {sum(gaps.values()):4}  "
              f"failure rate {len(failures) / total:.1%}")
    assert not failures, "\n".join(failures)


def test_table_is_large_and_covers_every_kind():
    assert len(CASES) >= 300
    assert {c["kind"] for c in CASES} == set(KINDS)
    refusals = Counter(c["kind"] for c in CASES if c["expected"] is REFUSED)
    assert set(refusals) == set(KINDS), f"kinds without a refusal case: {set(KINDS) - set(refusals)}"


def test_unknown_kind_names_the_kind():
    with pytest.raises(OptionsError, match="'zipcode'"):
        extract("zipcode", "H2X 1Y4")


@pytest.mark.parametrize("kind,options,message", [
    ("single_choice", {}, "options.choices is required"),
    ("single_choice", {"choices": [{"nope": 1}]}, r"options.choices\[0\]"),
    ("phone", {"region": "XX"}, "options.region 'XX'"),
    ("weight", {"unit": "furlong"}, "options.unit 'furlong'"),
    ("entity_regex", {"pattern": "("}, "not a valid regex"),
    ("entity_list", {"entities": [{"name": "a"}], "fuzzy": "wild"}, "options.fuzzy 'wild'"),
])
def test_bad_card_options_raise_a_clear_error(kind, options, message):
    with pytest.raises(OptionsError, match=message):
        extract(kind, "anything", options)


def test_bad_time_zone_is_named():
    with pytest.raises(OptionsError, match="Mars/Olympus"):
        extract("datetime", "tomorrow", now=NOW, tz="Mars/Olympus")


def test_sensitive_regex_returns_a_masked_form():
    result = extract("entity_regex", "card 4111-1111-1111-1111 ok", {"pattern": r"(?:\d{4}-){3}\d{4}",
                                                                    "sensitive": True})
    assert result.value == "4111-1111-1111-1111"
    assert result.masked == "card ******************* ok"
    assert mask_sensitive("pin 1234 and 5678", r"\d{4}") == "pin **** and ****"
    plain = extract("entity_regex", "card 4111-1111-1111-1111", {"pattern": r"(?:\d{4}-){3}\d{4}"})
    assert plain.masked is None


def test_datetime_follows_the_bot_time_zone():
    tokyo = extract("datetime", "tomorrow at 9am", now=NOW, tz="Asia/Tokyo")
    assert tokyo.value == "2025-03-13T09:00:00+09:00"
