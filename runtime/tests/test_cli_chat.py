import io

import pytest
from django.core.management.base import CommandError

from runtime.cli_chat import format_output, run_chat
from runtime.models import EndUser
from runtime.tests.bots import create_bot, echo_bot, rich_bot, two_step_bot

pytestmark = pytest.mark.django_db


def chat(bot, lines, **kwargs):
    out = io.StringIO()
    run_chat(bot, draft=kwargs.get("draft", False), user_id=kwargs.get("user_id"), stdin=io.StringIO(lines),
             stdout=out)
    return out.getvalue().splitlines()


def test_piped_input_prints_each_bot_output_on_its_own_line():
    bot = create_bot(echo_bot())
    assert chat(bot, "hello\n\n   \nworld\n") == ["got hello", "got world"]


def test_non_text_messages_are_printed_in_a_readable_line():
    bot = create_bot(rich_bot())
    assert chat(bot, "Ann\n") == [
        "Here you go, Ann",
        "[image] Pizza https://example.org/p.png",
        "[card] Menu Today (Small | Large)",
    ]


def test_the_draft_is_used_only_when_asked_and_an_unpublished_bot_is_a_clear_error():
    bot = create_bot(two_step_bot(label="draft"), publish=False)
    with pytest.raises(CommandError, match="no published version.*--draft"):
        chat(bot, "hi\n")
    assert chat(bot, "hi\nthere\n", draft=True) == ["draft: hello", "draft: you said there"]


def test_the_user_id_is_kept_so_user_variables_carry_over():
    bot = create_bot(echo_bot())
    chat(bot, "a\n", user_id="cli-user")
    chat(bot, "b\n", user_id="cli-user")
    assert EndUser.objects.get(bot=bot, external_id="cli-user").variables["seen"] == ["a", "b"]


def test_choice_lines_show_the_options():
    line = format_output({"type": "choice", "text": "Which size?",
                          "choices": [{"label": "Small", "value": "s"}, {"label": "Large", "value": "l"}]})
    assert line == "[choice] Which size? (Small | Large)"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_prompts_and_prefixed_bot_lines():
    bot = create_bot(echo_bot())
    out = io.StringIO()
    run_chat(bot, draft=False, user_id=None, stdin=_Terminal("hello\n"), stdout=out)
    assert out.getvalue() == "you> bot> got hello\nyou> \n"
