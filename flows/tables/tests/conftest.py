import pytest

from flows import services
from flows.tables import service

COLUMNS = [
    {"name": "name", "type": "string", "searchable": True},
    {"name": "price", "type": "number"},
    {"name": "active", "type": "boolean"},
    {"name": "born", "type": "date"},
    {"name": "tags", "type": "object"},
]


@pytest.fixture
def bot(db):
    return services.create_bot(services.default_workspace(), name="Shop")


@pytest.fixture
def items(bot):
    """The bot's `Items` table (in its draft), as a TableDef."""
    return service.create_table(bot, {"name": "Items", "columns": COLUMNS})
