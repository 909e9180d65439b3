"""`manage.py bot import|export|publish|restore|info|chat|chat-api|channels`: bots from the command line.

Every subcommand is a thin shell around `flows.services`. Expected failures (unknown bot,
invalid file, missing version) are one line on stderr and exit code 1, never a traceback.
"""
import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from flows import services
from flows.botfile.problems import BotFileInvalid
from studio.people.models import Workspace
from studio.publishing import publish_draft

EXPECTED_ERRORS = (
    services.BotNotFound,
    services.AmbiguousBot,
    services.NotPublished,
    services.UnknownVersion,
    services.StaleRevision,
)


class Command(BaseCommand):
    help = "Import, export, publish, restore, inspect and chat with bots."
    # call_command(..., stdin=...) lets tests feed `bot import -` and `bot chat`.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        p = sub.add_parser("import", help="create a bot from a bot file; prints its id")
        p.add_argument("file", help="path to a .bot.json file, or - for stdin")
        p.add_argument("--workspace", help="workspace slug (default: the Default workspace)")

        p = sub.add_parser("export", help="print a bot file (the draft, or a published version), without the values equal to their defaults")
        p.add_argument("bot", help="bot id or unique name")
        p.add_argument("-o", "--output", help="write to this file instead of stdout")
        p.add_argument("--version", type=int, dest="version_number", help="export this published version")
        p.add_argument("--with-rows", action="store_true", dest="with_rows",
                       help="add each table's rows (docs/tables.md); `bot import` puts them into the new bot")

        p = sub.add_parser("publish", help="publish the draft as the next version")
        p.add_argument("bot", help="bot id or unique name")
        p.add_argument("--note", default="", help="what changed in this version")

        p = sub.add_parser("restore", help="copy a published version into the draft")
        p.add_argument("bot", help="bot id or unique name")
        p.add_argument("number", type=int, help="version number")

        p = sub.add_parser("info", help="show a bot's id, workspace, draft revision, latest version and LLM usage")
        p.add_argument("bot", help="bot id or unique name")

        p = sub.add_parser("test", help="run the bot's conversation tests; exits 1 if one fails")
        p.add_argument("bot", help="bot id or name")
        p.add_argument("--name", action="append", dest="names", metavar="TEST",
                       help="run only this test (repeatable)")
        where = p.add_mutually_exclusive_group()
        where.add_argument("--draft", action="store_const", const=True, dest="on_draft",
                           help="run against the draft")
        where.add_argument("--published", action="store_const", const=False, dest="on_draft",
                           help="run against the latest published version")
        p.add_argument("--record", action="store_true",
                       help="talk to the bot's LLM provider and write each passing test's LLM calls into it "
                            "(the draft), so it replays offline")

        p = sub.add_parser("chat-api", help="show or change a bot's Chat API settings")
        p.add_argument("bot", help="bot id or unique name")
        state = p.add_mutually_exclusive_group()
        state.add_argument("--enable", action="store_true", help="serve the Chat API at its base URL")
        state.add_argument("--disable", action="store_true", help="stop serving it (404)")
        p.add_argument("--rotate-key", action="store_true",
                       help="replace the encryption key (every user key signed with the old one stops working)")
        p.add_argument("--show-key", action="store_true", help="print the encryption key")
        hook = p.add_mutually_exclusive_group()
        hook.add_argument("--webhook", metavar="URL", help="send every signal to this URL, signed")
        hook.add_argument("--no-webhook", action="store_true", help="stop sending signals to a webhook")
        p.add_argument("--webhook-secret", metavar="SECRET", help="the webhook's signing secret (default: generated)")

        p = sub.add_parser("channels", help="list a bot's messaging channels, install, enable or disable one")
        p.add_argument("bot", help="bot id or unique name")
        change = p.add_mutually_exclusive_group()
        change.add_argument("--enable", metavar="CHANNEL", help="answer this channel's updates again")
        change.add_argument("--disable", metavar="CHANNEL", help="refuse its updates (403) and send nothing")
        change.add_argument("--install", metavar="CHANNEL",
                            help="install or change a channel (webhook, telegram, slack, whatsapp, messenger, "
                                 "twilio) with --set fields")
        change.add_argument("--test", metavar="CHANNEL",
                            help="test the channel's connection: one call to its API with the saved credentials")
        change.add_argument("--remove", metavar="CHANNEL", help="remove the channel and its webhook URL")
        p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="fields",
                       help="a field of the channel's config (repeatable), e.g. bot_token=123:ABC")

        p = sub.add_parser("chat", help="talk to a bot in the terminal")
        p.add_argument("bot", help="bot id or unique name")
        p.add_argument("--draft", action="store_true", help="talk to the draft instead of the published version")
        p.add_argument("--user", dest="user_id", help="end-user id to talk as (keeps user variables)")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"do_{action.replace('-', '_')}")(**options)
        except BotFileInvalid as exc:
            if len(exc.problems) == 1:
                raise CommandError(f"not a valid bot file: {exc.problems[0]}") from None
            for problem in exc.problems:
                self.stderr.write(str(problem))
            count = len(exc.problems)
            raise CommandError(f"not a valid bot file: {count} problem{'s' if count != 1 else ''}") from None
        except EXPECTED_ERRORS as exc:
            raise CommandError(str(exc)) from None

    def do_import(self, *, file, workspace, **options):
        limit = settings.FLOWSTUDIO_IMPORT_MAX_BYTES
        too_big = f"cannot import {file}: it is over the {limit // (1024 * 1024)} MB limit for a bot file"
        if file == "-":
            stream = options.get("stdin") or sys.stdin
            text = getattr(stream, "buffer", stream).read(limit + 1)  # bytes: parse_bot_file checks UTF-8
        else:
            try:
                if Path(file).stat().st_size > limit:  # refused before reading it
                    raise CommandError(too_big)
                text = Path(file).read_bytes()
            except OSError as exc:
                raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        if len(text) > limit:
            raise CommandError(too_big)
        target = None
        if workspace:
            target = Workspace.objects.filter(slug=workspace).first()
            if target is None:
                raise CommandError(f"no workspace with slug {workspace!r}")
        bot = services.import_bot(text, workspace=target)
        self.stdout.write(str(bot.id))

    def do_export(self, *, bot, output, version_number, with_rows=False, **options):
        document = services.export_bot(services.find_bot(bot), version=version_number, with_rows=with_rows)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")

    def do_publish(self, *, bot, note, **options):
        found = services.find_bot(bot)
        try:
            version = publish_draft(found, note=note)
        except BotFileInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            count = len(exc.problems)
            raise CommandError(f"cannot publish {found.name!r}: {count} problem{'s' if count != 1 else ''}") from None
        self.stdout.write(f"published version {version.number}")

    def do_restore(self, *, bot, number, **options):
        restored = services.restore(services.find_bot(bot), number)
        self.stdout.write(f"restored version {number} into the draft (revision {restored.draft_revision})")

    def do_info(self, *, bot, **options):
        found = services.find_bot(bot)
        latest = found.latest_version()
        if latest is None:
            published = "none"
        else:
            author = latest.author.get_username() if latest.author else "command line"
            published = f"{latest.number} (by {author}, {latest.created_at:%Y-%m-%d %H:%M:%S %Z})"
        lines = [
            f"id: {found.id}",
            f"name: {found.name}",
            f"workspace: {found.workspace.name} ({found.workspace.slug})",
            f"draft revision: {found.draft_revision}",
            f"published version: {published}",
            f"chat api: {self._chat_api_line(found)}",
            *self._llm_usage_lines(found),
        ]
        self.stdout.write("\n".join(lines))

    def do_test(self, *, bot, names, on_draft, record=False, **options):
        from runtime.conversation_tests import format_results, run_tests, save_recordings

        found = services.find_bot(bot)
        if on_draft is False and found.latest_version() is None:
            raise CommandError(f"bot {found.name!r} has no published version; publish it or use --draft")
        revision = found.draft_revision
        try:
            results = run_tests(found, names=names, draft=on_draft, record=record)
        except LookupError as exc:
            raise CommandError(str(exc))
        if not results:
            raise CommandError(f"bot {found.name!r} has no conversation tests")
        self.stdout.write(format_results(results))
        if record:
            try:
                changed = save_recordings(found, results, base_revision=revision)
            except BotFileInvalid as exc:
                raise CommandError("the draft has errors, so the recordings cannot be stored with it: "
                                   + "; ".join(f"{p.path}: {p.message}" for p in exc.problems))
            self.stdout.write(f"recorded the LLM calls of {len(changed)} test(s) into the draft"
                              + (f": {', '.join(changed)}" if changed else "")
                              + (" (failing tests keep their old recording)" if not all(r.passed for r in results)
                                 else ""))
        if not all(result.passed for result in results):
            raise CommandError(f"{sum(not r.passed for r in results)} conversation test(s) failed", returncode=1)

    @staticmethod
    def _llm_usage_lines(bot) -> list[str]:
        """What the bot's LLM calls cost so far (draft and published), in all and per model;
        nothing for a bot that never called a model."""
        from runtime import llm_usage

        totals = llm_usage.totals(bot)
        if not totals["calls"]:
            return []

        def sums(row) -> str:
            calls = f"{row['calls']:,} call{'s' if row['calls'] != 1 else ''}"
            return f"{calls}, {row['tokensIn']:,} tokens in, {row['tokensOut']:,} out, cost {row['cost']:.4f}"

        return [f"llm usage: {sums(totals)}",
                *(f"  {row['provider']}/{row['model']}: {sums(row)}" for row in totals["models"])]

    @staticmethod
    def _chat_api_line(bot) -> str:
        from integrations.chat_api import services as chat_api

        row = chat_api.chat_api_settings(bot)
        return chat_api.base_url(row) + ("" if row.enabled else f" (disabled: manage.py bot chat-api {bot.id} --enable)")

    def do_chat_api(self, *, bot, enable, disable, rotate_key, show_key, webhook, no_webhook, webhook_secret,
                    **options):
        from integrations.chat_api import services as chat_api
        from integrations.chat_api.errors import ChatApiError

        found = services.find_bot(bot)
        try:
            row = chat_api.update_chat_api(
                found, enabled=True if enable else False if disable else None, rotate_key=rotate_key,
                webhook_url="" if no_webhook else webhook, webhook_secret=webhook_secret,
            )
        except ChatApiError as exc:
            raise CommandError(exc.message) from None
        lines = [
            f"base url: {chat_api.base_url(row)}",
            f"enabled: {'yes' if row.enabled else 'no'}",
            f"webhook: {row.webhook_url or 'none'}",
        ]
        if show_key or rotate_key:
            lines.append(f"encryption key: {row.encryption_key}")
        if (webhook or webhook_secret) and row.webhook_url:
            lines.append(f"webhook secret: {row.webhook_secret}")
        self.stdout.write("\n".join(lines))

    def do_channels(self, *, bot, enable, disable, install, remove, fields, test=None, **options):
        from integrations.messaging import services as messaging
        from studio import channel_settings

        found = services.find_bot(bot)
        try:
            if install:
                values = {}
                for field in fields:
                    name, sep, value = field.partition("=")
                    if not sep or not name.strip():
                        raise CommandError(f"--set {field!r}: expected FIELD=VALUE")
                    values[name.strip()] = value
                channel_settings.configure_channel(found, install, values, user=None)
            elif fields:
                raise CommandError("--set goes with --install CHANNEL")
            elif enable or disable:
                channel_settings.set_channel_enabled(found, enable or disable, bool(enable), user=None)
            elif remove:
                channel_settings.remove_channel(found, remove, user=None)
            elif test:
                ok, message = messaging.test_connection(found, test)
                if not ok:
                    raise CommandError(message)
                self.stdout.write(message)
                return
        except messaging.ChannelError as exc:
            raise CommandError(str(exc)) from None
        channels = messaging.channels_of(found)
        if not channels:
            kinds = ", ".join(sorted(messaging.kinds.KINDS))
            self.stdout.write(f"no messaging channels (install one: manage.py bot channels {found.id} "
                              f"--install CHANNEL --set FIELD=VALUE; channels: {kinds})")
            return
        for channel in channels:
            summary = messaging.summary(channel)
            state = "enabled" if summary["enabled"] else "disabled"
            failures = f", {summary['failures']} undelivered" if summary["failures"] else ""
            # WhatsApp and Messenger: the verify token is pasted into Meta's dashboard with the URL.
            token = f"\tverify token {summary['settings']['verify_token']}" if summary["settings"].get("verify_token") else ""
            self.stdout.write(f"{channel.kind}\t{state}\t{summary['webhookUrl']}{token}{failures}")

    def do_chat(self, *, bot, draft, user_id, **options):
        found = services.find_bot(bot)
        if not draft and found.latest_version() is None:
            raise CommandError(f"bot {found.name!r} has no published version; publish it or use --draft")
        from runtime.cli_chat import run_chat

        # The raw stream, not Django's OutputWrapper: prompts must not get a newline appended.
        run_chat(found, draft=draft, user_id=user_id, stdin=options.get("stdin") or sys.stdin, stdout=self.stdout._out)
