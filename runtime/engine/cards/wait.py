"""Wait for User Input: suspends the dialog; the next user event resumes at the card
after this one, with that event in `event`."""
from .base import CONTINUE, SUSPEND, Card, CardConfig, CardFamily, register


class _Wait(Card):
    __slots__ = ()
    suspends = True

    def run(self, rt):
        return SUSPEND

    def resume(self, rt):
        return CONTINUE


@register
class WaitCard(CardFamily):
    types = ("wait",)
    label = "Wait for User Input"
    category = "Flow Logic"

    class Config(CardConfig):
        pass

    def compile(self, card_type, config, ctx):
        return _Wait()
