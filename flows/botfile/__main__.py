"""`python -m flows.botfile FILE...`: check bot files without a database (for CI and hooks).

Prints every problem as `file: path: message`; exits 1 when any file has one.
"""
import sys
from pathlib import Path

from .problems import BotFileInvalid
from .validate import parse_bot_file, validate_bot


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: python -m flows.botfile FILE.bot.json...", file=sys.stderr)
        return 2
    failed = False
    for name in paths:
        try:
            problems = validate_bot(parse_bot_file(Path(name).read_bytes()))
        except BotFileInvalid as exc:
            problems = exc.problems
        except OSError as exc:
            print(f"{name}: cannot read: {exc.strerror}", file=sys.stderr)
            failed = True
            continue
        for problem in problems:
            print(f"{name}: {problem}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
