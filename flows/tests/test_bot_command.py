import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from flows.botfile.canonical import for_export
from flows.models import Bot
from flows.services import export_bot, import_bot, publish
from studio.people.models import Workspace

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def run(*args, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    extra = {"stdin": io.StringIO(stdin)} if stdin is not None else {}
    call_command("bot", *args, stdout=out, stderr=err, **extra)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def tiny_file(tmp_path, tiny_bot_doc):
    path = tmp_path / "tiny.bot.json"
    path.write_text(json.dumps(tiny_bot_doc))
    return path


@pytest.fixture
def broken_file(tmp_path, tiny_bot_doc):
    tiny_bot_doc["flows"][0]["nodes"][1]["next"] = "nowhere"
    tiny_bot_doc["settings"] = {"timezone": "Mars/Olympus_Mons"}
    path = tmp_path / "broken.bot.json"
    path.write_text(json.dumps(tiny_bot_doc))
    return path


def test_import_prints_only_the_new_bot_id(tiny_file):
    out, _ = run("import", str(tiny_file))
    bot = Bot.objects.get(pk=uuid.UUID(out.strip()))
    assert out == f"{bot.id}\n"
    assert (bot.name, bot.workspace.slug) == ("Tiny", "default")


def test_import_reads_stdin_for_a_dash(tiny_bot_doc):
    out, _ = run("import", "-", stdin=json.dumps(tiny_bot_doc))
    assert Bot.objects.filter(pk=out.strip()).exists()


def test_import_into_a_missing_workspace_is_an_error(tiny_file):
    with pytest.raises(CommandError, match="no workspace with slug 'sales'"):
        run("import", str(tiny_file), "--workspace", "sales")
    assert not Bot.objects.exists()


def test_an_invalid_file_lists_every_problem_and_stores_nothing(broken_file):
    err = io.StringIO()
    with pytest.raises(CommandError, match="not a valid bot file: 2 problems"):
        call_command("bot", "import", str(broken_file), stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert any(line.startswith("$.flows[0].nodes[1].next: ") for line in lines)
    assert any(line.startswith("$.settings.timezone: ") for line in lines)
    assert not Bot.objects.exists()
    assert not Workspace.objects.exists()


def test_a_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read .*nope.bot.json"):
        run("import", str(tmp_path / "nope.bot.json"))


def test_export_prints_the_canonical_document(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    out, _ = run("export", str(bot.id))
    assert json.loads(out) == export_bot(bot)
    assert out == json.dumps(export_bot(bot), indent=2, ensure_ascii=False) + "\n"


def test_export_a_version_to_a_file_by_name(workspace, tiny_bot_doc, tmp_path):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    publish(bot)
    target = tmp_path / "v1.bot.json"
    out, _ = run("export", "Tiny", "--version", "1", "-o", str(target))
    assert out == ""
    assert json.loads(target.read_text()) == for_export(bot.versions.get(number=1).definition)


def test_publish_then_info(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    out, _ = run("info", str(bot.id))
    assert "published version: none" in out

    out, _ = run("publish", "Tiny", "--note", "first cut")
    assert out == "published version 1\n"

    out, _ = run("info", "Tiny")
    lines = out.splitlines()
    assert lines[0] == f"id: {bot.id}"
    assert lines[1] == "name: Tiny"
    assert lines[2] == "workspace: Default (default)"
    assert lines[3] == "draft revision: 1"
    assert lines[4].startswith("published version: 1 (by command line, ")


def test_restore_bumps_the_draft_revision(workspace, tiny_bot_doc):
    bot = import_bot(tiny_bot_doc, workspace=workspace)
    publish(bot)
    out, _ = run("restore", str(bot.id), "1")
    assert out == "restored version 1 into the draft (revision 2)\n"


def test_unknown_and_ambiguous_bots_are_clear_errors(workspace, tiny_bot_doc):
    with pytest.raises(CommandError, match="no bot with id or name 'Nobody'"):
        run("info", "Nobody")
    import_bot(tiny_bot_doc, workspace=workspace)
    import_bot(tiny_bot_doc, workspace=workspace)
    with pytest.raises(CommandError, match="2 bots are named 'Tiny'; use one of their ids"):
        run("publish", "Tiny")


def test_chat_with_an_unpublished_bot_suggests_the_draft(workspace, tiny_bot_doc):
    import_bot(tiny_bot_doc, workspace=workspace)
    with pytest.raises(CommandError, match="use --draft"):
        run("chat", "Tiny")


@pytest.mark.django_db(transaction=True)
def test_from_the_shell_an_invalid_file_exits_1_without_a_traceback(broken_file):
    # A real process, so the exit code and stderr are what a user sees.
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="studio.settings")
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    else:
        env["SQLITE_PATH"] = connection.settings_dict["NAME"]
    result = subprocess.run(
        [sys.executable, "manage.py", "bot", "import", str(broken_file)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "$.flows[0].nodes[1].next: " in result.stderr
    assert result.stderr.rstrip().endswith("not a valid bot file: 2 problems")


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.bot.json")), ids=lambda path: path.name)
def test_an_exported_file_imports_and_exports_to_the_same_text(path, tmp_path):
    """Bot files for git: export leaves the defaults out, import fills them back."""
    bot_id = run("import", str(path))[0].strip()
    first = tmp_path / "first.bot.json"
    run("export", bot_id, "-o", str(first))
    text = first.read_text()
    assert '"markdown": false' not in text and '"metadata": null' not in text and '"next": null' not in text
    again = run("import", str(first))[0].strip()
    assert run("export", again)[0] == text
    assert Bot.objects.get(pk=again).draft == Bot.objects.get(pk=bot_id).draft
