import copy
from pathlib import Path

import pytest

from flows.services import default_workspace

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.bot.json"))

# The smallest bot that uses every part the services care about: a flow, cards, a layout.
TINY_BOT = {
    "format": "flowstudio.bot/1",
    "name": "Tiny",
    "flows": [
        {
            "name": "main",
            "variables": [],
            "nodes": [
                {"id": "start", "kind": "start", "next": "hello"},
                {
                    "id": "hello",
                    "kind": "standard",
                    "cards": [{"id": "hello-text", "type": "text", "text": "Hi there"}],
                    "next": "end",
                },
                {"id": "end", "kind": "end"},
            ],
        }
    ],
    "layout": {"main": {"start": [0, 0], "hello": [240, 0], "end": [480, 0]}},
}


@pytest.fixture
def tiny_bot_doc():
    return copy.deepcopy(TINY_BOT)


@pytest.fixture
def workspace(db):
    return default_workspace()
