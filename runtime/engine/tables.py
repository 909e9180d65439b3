"""How table cards reach a bot's rows: the `TableHost` the runtime gives a turn
(`TurnInput.tables`; runtime/table_gateway.py over the database, a fake in engine
tests). The engine knows a table only as its definition from the bot file (`{"name",
"columns"}`), passed with every call so the host checks values against the columns of
the build that runs, not those of a newer draft. docs/tables.md."""
from __future__ import annotations

from typing import Any, Protocol


class TableFailure(Exception):
    """A table operation the host refused (a wrong type, an unknown column, a limit, a
    broken filter): `path` names what in the card's input, `message` what is wrong."""

    def __init__(self, message: str, *, path: str = ""):
        super().__init__(f"{path}: {message}" if path else message)
        self.message, self.path = message, path


class TableHost(Protocol):
    def get_record(self, table: dict, record_id: Any) -> dict | None:
        """The row with this id, or None."""
        ...

    def find_records(self, table: dict, *, filter: dict | None, search: str | None, order_by: str,
                     order_direction: str, limit: int, offset: int) -> list[dict]:
        ...

    def insert_record(self, table: dict, values: dict) -> dict:
        """The stored row (with `id`, `createdAt`, `updatedAt`)."""
        ...

    def update_record(self, table: dict, record_id: Any, values: dict) -> dict:
        """The row after the change; TableFailure when there is no such row."""
        ...

    def upsert_record(self, table: dict, key_column: str, values: dict) -> tuple[dict, bool]:
        """(the stored row, True when it was inserted rather than updated)."""
        ...

    def delete_records(self, table: dict, *, ids: list | None = None, filter: dict | None = None) -> int:
        """How many rows were deleted."""
        ...
