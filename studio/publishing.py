"""Publishing a draft from the studio's doors (the editor, the REST API, `manage.py bot
publish`): the bot file's own checks run in `flows.services.publish`; what only the studio
can check, because it needs the workspace, runs here first, so no door skips it."""
from flows import services
from flows.botfile.problems import BotFileInvalid

from . import llm_providers


def publish_draft(bot, *, user=None, note: str = ""):
    """Publish the draft as the next version, or raise BotFileInvalid with every problem that
    blocks it (AI cards with no provider in the workspace included)."""
    problems = llm_providers.provider_problems(bot.workspace, bot.draft)
    if problems:
        raise BotFileInvalid(problems)
    return services.publish(bot, user=user, note=note)
