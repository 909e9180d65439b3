"""`manage.py bot import` on bad files: every one is refused in one line naming the problem
(and where), exit code 1, no traceback, nothing stored. A table of the kinds of bad file a
user or an attacker hands over, a few of them through a real process, then hypothesis:
valid bot files with one value anywhere replaced by any JSON value or removed."""
from __future__ import annotations

import codecs
import copy
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.models import Bot

from .conftest import DEEP_900, DEEP_ARRAY

ROOT = Path(__file__).resolve().parents[2]
HELLO = (ROOT / "examples" / "hello.bot.json").read_text(encoding="utf-8")
MINIMAL = '{"format": "flowstudio.bot/1", "name": %s, "flows": [{"name": "main", "nodes": [' \
          '{"id": "start", "kind": "start", "next": null}]}]}'


def _bot(**changes) -> str:
    doc = json.loads(HELLO)
    doc.update(changes)
    return json.dumps(doc)


BAD_FILES = {  # name -> (content, what the one line must say)
    "not JSON": (b"hello there", "invalid JSON at line 1, column 1"),
    "empty": (b"", "invalid JSON at line 1, column 1"),
    "whitespace only": (b"  \n\t\n", "invalid JSON at line 3"),
    "truncated": (HELLO[: len(HELLO) // 2].encode(), "invalid JSON"),
    "UTF-16": (HELLO.encode("utf-16"), "not UTF-8 text (byte 0"),
    "Latin-1": (MINIMAL.replace("%s", '"caf\xe9"').encode("latin-1"), "not UTF-8 text"),
    "BOM only": (codecs.BOM_UTF8, "invalid JSON"),
    "BOM then garbage": (codecs.BOM_UTF8 + b"{oops", "invalid JSON"),
    "binary (PNG)": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
    "top-level array": (b"[]", "a bot file is a JSON object, not list"),
    "top-level string": (b'"a bot"', "a bot file is a JSON object, not str"),
    "top-level null": (b"null", "a bot file is a JSON object, not NoneType"),
    "empty object": (b"{}", "$"),
    "missing flows": (b'{"format": "flowstudio.bot/1", "name": "x"}', "flows"),
    "wrong format": (_bot(format="botpress/12").encode(), "$.format"),
    "name is a number": (MINIMAL.replace("%s", "5").encode(), "$.name"),
    "flows is text": (_bot(flows="many").encode(), "$.flows"),
    "nodes is an object": (MINIMAL.replace("%s", '"x"').replace('"nodes": [', '"nodes": {"a": [').replace(
        "]}]}", "]}}]}").encode(), "$.flows[0].nodes"),
    "card is a number": (MINIMAL.replace("%s", '"x"').replace('"next": null}', '"next": null, "cards": [5]}')
                         .encode(), "$.flows[0].nodes[0]"),
    "nested 5000 levels": (DEEP_ARRAY.encode(), "nested deeper than 64 levels"),
    "900 levels in agents": (_bot().replace('"flows":', '"agents": {"a": %s}, "flows":' % DEEP_900, 1).encode(),
                             "$.agents.a.a.a"),
    "NUL in the name": (MINIMAL.replace("%s", '"a\\u0000b"').encode(), "$.name: the string contains the NUL"),
    "lone surrogate in the name": (MINIMAL.replace("%s", '"\\ud800"').encode(), "$.name: the string contains a lone"),
    "NaN": (_bot(settings={}).replace('"settings": {}', '"settings": {"intentConfidence": NaN}').encode(),
            "NaN is not a JSON number"),
    "1e999 (infinity)": (_bot(settings={}).replace('"settings": {}', '"settings": {"intentConfidence": 1e999}')
                         .encode(), "$.settings.intentConfidence"),
    "name of 10,000 characters": (MINIMAL.replace("%s", json.dumps("n" * 10_000)).encode(), "$.name"),
    "over 5 MB": (b'{"name": "' + b"x" * (6 * 1024 * 1024) + b'"}', "over the 5 MB limit"),
}


def _import(path) -> str:
    """The CommandError's text, which Django prints as the one line `CommandError: ...`."""
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("bot", "import", str(path), stdout=io.StringIO(), stderr=err)
    return str(refused.value), err.getvalue()


@pytest.mark.django_db
def test_every_kind_of_bad_file_is_one_line_and_stores_nothing(tmp_path):
    wrong = []
    for name, (content, says) in BAD_FILES.items():
        path = tmp_path / "bad.bot.json"
        path.write_bytes(content)
        line, problems = _import(path)
        # Several problems are listed first, one per line, then the count; one problem is the line itself.
        if says not in (line if not problems else problems) or "\n" in line:
            wrong.append((name, line[:200], problems[:200]))
    assert wrong == []
    assert Bot.objects.count() == 0
    assert len(BAD_FILES) >= 20


@pytest.mark.django_db
def test_missing_files_directories_and_stdin_over_the_limit(tmp_path):
    assert "cannot read" in _import(tmp_path / "nope.bot.json")[0]
    assert "cannot read" in _import(tmp_path)[0]
    with pytest.raises(CommandError, match="over the 5 MB limit"):
        call_command("bot", "import", "-", stdin=io.StringIO("x" * (5 * 1024 * 1024 + 1)),
                     stdout=io.StringIO(), stderr=io.StringIO())


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    # A sparse 6 GB file: reading it would take minutes and all the memory.
    huge = tmp_path / "huge.bot.json"
    with open(huge, "wb") as handle:
        handle.truncate(6 * 1024 ** 3)
    opened = []
    real_read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: opened.append(self) or real_read_bytes(self))
    with pytest.raises(CommandError, match="over the 5 MB limit"):
        call_command("bot", "import", str(huge), stdout=io.StringIO(), stderr=io.StringIO())
    assert opened == []


@pytest.mark.django_db(transaction=True)
def test_from_the_shell_bad_files_exit_1_with_one_line_and_no_traceback(tmp_path):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="studio.settings")
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    else:
        env["SQLITE_PATH"] = db["NAME"]
    runs = {}
    for name in ("nested 5000 levels",):  # the rest in-process: a process costs seconds to start
        path = tmp_path / f"{len(runs)}.bot.json"
        path.write_bytes(BAD_FILES[name][0])
        runs[name] = subprocess.Popen([sys.executable, "manage.py", "bot", "import", str(path)], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for name, process in runs.items():
        stdout, stderr = process.communicate(timeout=180)
        assert (process.returncode, stdout) == (1, ""), (name, stderr)
        assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, (name, stderr)
        assert BAD_FILES[name][1] in stderr, (name, stderr)
    assert Bot.objects.count() == 0


# ---- hypothesis: any value anywhere -----------------------------------------------------------

EXAMPLES = [json.loads((ROOT / "examples" / name).read_text(encoding="utf-8"))
            for name in ("hello.bot.json", "webchat-demo.bot.json")]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


PATHS = [(index, path) for index, doc in enumerate(EXAMPLES) for path in _paths(doc) if path]


def _mutated(index: int, path: tuple, replacement, delete: bool) -> dict:
    doc = copy.deepcopy(EXAMPLES[index])
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return doc


@pytest.mark.django_db
@settings(max_examples=int(os.environ.get("FUZZ_BOT_FILE_EXAMPLES", 150)), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(where=st.sampled_from(PATHS), replacement=JSON_VALUES, delete=st.booleans())
def test_any_value_anywhere_is_imported_or_refused_in_words(where, replacement, delete):
    text = json.dumps(_mutated(*where, replacement, delete))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("bot", "import", "-", stdin=io.StringIO(text), stdout=out, stderr=err)
    except CommandError as refused:
        assert str(refused).startswith("not a valid bot file"), str(refused)
    else:
        assert Bot.objects.filter(pk=out.getvalue().strip()).exists()
