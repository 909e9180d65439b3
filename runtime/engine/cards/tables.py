"""Table cards: Get Record, Find Records, Insert Record, Update Record, Upsert Record and
Delete Records, each reading or writing the bot's table rows through the turn's
`TableHost` (runtime/engine/tables.py) and writing what it got to a variable.

Values, record ids and filters are templates: `"{{workflow.price}}"` alone keeps its type
(a number stays a number), so a filter reads `{"price": {"$lt": "{{workflow.max}}"}}`. A
template that gives nothing leaves its key out (that column is not written). When the host
refuses the operation (a wrong type, a limit, a broken filter) the card takes its failure
port, or, when that is not connected, the error flow gets the error with its path.
Table cards send nothing to the user (Botpress: "Table cards do not directly display their
result")."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from ..errors import BotRuntimeError
from ..tables import TableFailure
from ..templates import compile_json_template, compile_template
from .base import CONTINUE, Card, CardConfig, CardFamily, Jump, register
from .capture import VARIABLE_REF
from .fields import NodeRef, ObjectTemplate, RequiredTemplate, TemplateStr, _check_json_template

TABLE_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
SYSTEM_COLUMNS = ("id", "createdAt", "updatedAt")
MAX_LIMIT = 1_000
# A column's value: any JSON, its strings templates.
ValueTemplate = Annotated[Any, AfterValidator(_check_json_template)]
TYPES = ("table_get", "table_find", "table_insert", "table_update", "table_upsert", "table_delete")


def _table_field():
    return Field(pattern=TABLE_NAME, title="Table", description="One of the bot's tables.",
                 json_schema_extra={"x-options": "tables"})


def _result_field(what: str, required: bool = False):
    return Field(default=... if required else None, pattern=VARIABLE_REF, title="Result variable",
                 description=what, json_schema_extra={"x-options": "variables"})


_VALUES = Field(default_factory=dict, title="Values",
                description='A value for each column to write, e.g. {"price": "{{workflow.price}}"}; '
                            "{{ expr }} alone keeps its type.")
_FAILURE = Field(default=None, title="On failure",
                 description="The node taken when the table refuses the operation; empty: the error flow.")


class _TableCard(Card):
    __slots__ = ("table", "config", "templates")

    def __init__(self, config, templates: dict):
        self.config = config
        self.table = config.table
        self.templates = templates

    def host(self, rt):
        if rt.table_host is None:
            raise BotRuntimeError(f"card {self.id!r}: tables are not available where this bot runs")
        return rt.table_host

    def definition(self, rt) -> dict:
        found = rt.build.tables.get(self.table)
        if found is None:  # the validator refuses this; a build from elsewhere may not have been checked
            raise BotRuntimeError(f"card {self.id!r}: the bot has no table {self.table!r}")
        return found

    def value(self, rt, name: str) -> Any:
        template = self.templates.get(name)
        return None if template is None else rt.value(template)

    def run(self, rt):
        try:
            outcome = self.operate(rt, self.host(rt), self.definition(rt))
        except TableFailure as exc:
            where = f" at {exc.path}" if exc.path else ""
            message = f"{self.type} card {self.id!r} on table {self.table!r}{where}: {exc.message}"
            rt.add_trace("table_failed", table=self.table, path=exc.path, message=exc.message)
            if self.config.on_failure is None:
                raise BotRuntimeError(message) from None
            return Jump(self.config.on_failure)
        result = getattr(self.config, "result", None)
        if result is not None:
            rt.set_variable(result, outcome)
        return CONTINUE

    def values(self, rt) -> dict:
        values = self.value(rt, "values")
        if not isinstance(values, dict):
            raise TableFailure("the values must give an object of columns", path="values")
        return values

    def operate(self, rt, host, table: dict) -> Any:
        raise NotImplementedError


class _Get(_TableCard):
    __slots__ = ()

    def operate(self, rt, host, table):
        row = host.get_record(table, self.value(rt, "recordId"))
        rt.add_trace("table_get", table=self.table, found=row is not None)
        return row


class _Find(_TableCard):
    __slots__ = ()

    def operate(self, rt, host, table):
        c = self.config
        spec = self.value(rt, "filter")
        if spec is not None and not isinstance(spec, dict):
            raise TableFailure("the filter must give an object", path="filter")
        search = self.value(rt, "search")
        rows = host.find_records(table, filter=spec or None, search=str(search) if search not in (None, "") else None,
                                 order_by=c.order_by, order_direction=c.order_direction, limit=c.limit,
                                 offset=c.offset)
        rt.add_trace("table_find", table=self.table, rows=len(rows))
        return rows


class _Insert(_TableCard):
    __slots__ = ()

    def operate(self, rt, host, table):
        row = host.insert_record(table, self.values(rt))
        rt.add_trace("table_insert", table=self.table, id=row.get("id"))
        return row


class _Update(_TableCard):
    __slots__ = ()

    def operate(self, rt, host, table):
        row = host.update_record(table, self.value(rt, "recordId"), self.values(rt))
        rt.add_trace("table_update", table=self.table, id=row.get("id"))
        return row


class _Upsert(_TableCard):
    __slots__ = ()

    def operate(self, rt, host, table):
        row, inserted = host.upsert_record(table, self.config.key_column, self.values(rt))
        rt.add_trace("table_upsert", table=self.table, id=row.get("id"), inserted=inserted)
        return row


class _Delete(_TableCard):
    __slots__ = ()

    def operate(self, rt, host, table):
        if self.config.record_id is not None:
            count = host.delete_records(table, ids=[self.value(rt, "recordId")])
        else:
            spec = self.value(rt, "filter")
            if not isinstance(spec, dict) or not spec:
                raise TableFailure("the filter must give a non-empty object (to delete every row, use the "
                                   "Tables tab)", path="filter")
            count = host.delete_records(table, filter=spec)
        rt.add_trace("table_delete", table=self.table, deleted=count)
        return count


class _Family(CardFamily):
    category = "Execute"
    transition_fields = ("onFailure",)
    card_class: type[_TableCard] = _TableCard
    template_fields: tuple[tuple[str, str], ...] = ()  # (bot-file name, config attribute)

    def compile(self, card_type, config, ctx):
        templates = {}
        for name, attribute in self.template_fields:
            source = getattr(config, attribute)
            if source is None or source == "":
                continue
            templates[name] = compile_template(source) if attribute in ("record_id", "search") \
                else compile_json_template(source)
        return self.card_class(config, templates)


@register
class GetRecordCard(_Family):
    types = ("table_get",)
    label = "Get Record"
    card_class = _Get
    template_fields = (("recordId", "record_id"),)

    class Config(CardConfig):
        table: str = _table_field()
        record_id: RequiredTemplate = Field(max_length=2_000, title="Record ID",
                                            description="The row's id, e.g. {{workflow.orderId}}.")
        result: str = _result_field("An object variable that gets the row (unset when there is none).",
                                    required=True)
        on_failure: NodeRef = _FAILURE


@register
class FindRecordsCard(_Family):
    types = ("table_find",)
    label = "Find Records"
    card_class = _Find
    template_fields = (("filter", "filter"), ("search", "search"))

    class Config(CardConfig):
        table: str = _table_field()
        filter: ObjectTemplate | None = Field(
            default=None, title="Filter",
            description='The tables filter language, e.g. {"price": {"$lt": "{{workflow.maxPrice}}"}}; '
                        "empty: every row.")
        search: TemplateStr = Field(default="", max_length=2_000, title="Search",
                                    description="Words to find in the searchable columns.")
        order_by: str = Field(default="id", pattern=TABLE_NAME, title="Order by",
                              description="A column, or id, createdAt, updatedAt.")
        order_direction: Literal["asc", "desc"] = Field(default="asc", title="Order")
        limit: int = Field(default=20, ge=1, le=MAX_LIMIT, title="At most", description="How many rows at most.")
        offset: int = Field(default=0, ge=0, le=1_000_000, title="Skip", description="Rows to skip first.")
        result: str = _result_field("An array variable that gets the rows.", required=True)
        on_failure: NodeRef = _FAILURE


@register
class InsertRecordCard(_Family):
    types = ("table_insert",)
    label = "Insert Record"
    card_class = _Insert
    template_fields = (("values", "values"),)

    class Config(CardConfig):
        table: str = _table_field()
        values: dict[str, ValueTemplate] = _VALUES
        result: str | None = _result_field("An object variable that gets the new row, with its id.")
        on_failure: NodeRef = _FAILURE


@register
class UpdateRecordCard(_Family):
    types = ("table_update",)
    label = "Update Record"
    card_class = _Update
    template_fields = (("recordId", "record_id"), ("values", "values"))

    class Config(CardConfig):
        table: str = _table_field()
        record_id: RequiredTemplate = Field(max_length=2_000, title="Record ID",
                                            description="The row's id, e.g. {{workflow.orderId}}.")
        values: dict[str, ValueTemplate] = _VALUES
        result: str | None = _result_field("An object variable that gets the row after the change.")
        on_failure: NodeRef = _FAILURE


@register
class UpsertRecordCard(_Family):
    types = ("table_upsert",)
    label = "Upsert Record"
    card_class = _Upsert
    template_fields = (("values", "values"),)

    class Config(CardConfig):
        table: str = _table_field()
        key_column: str = Field(pattern=TABLE_NAME, title="Key column",
                                description="The column that finds the row to update (inserted when none has "
                                            "the value).")
        values: dict[str, ValueTemplate] = _VALUES
        result: str | None = _result_field("An object variable that gets the stored row.")
        on_failure: NodeRef = _FAILURE


@register
class DeleteRecordsCard(_Family):
    types = ("table_delete",)
    label = "Delete Records"
    card_class = _Delete
    template_fields = (("recordId", "record_id"), ("filter", "filter"))

    class Config(CardConfig):
        table: str = _table_field()
        record_id: TemplateStr | None = Field(default=None, max_length=2_000, title="Record ID",
                                              description="The row to delete; or use a filter.")
        filter: ObjectTemplate | None = Field(default=None, title="Filter",
                                              description="Delete every row it matches (instead of one id).")
        result: str | None = _result_field("A number variable that gets how many rows went.")
        on_failure: NodeRef = _FAILURE


def table_card_problems(definition: dict) -> list[tuple[str, str]]:
    """(JSON path, message) for table cards naming a table, a column or a key the bot's
    `tables` do not have, and Delete cards with both or neither of id and filter."""
    tables = {}
    for entry in definition.get("tables") or ():
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            columns = entry.get("columns") if isinstance(entry.get("columns"), list) else []
            tables[entry["name"]] = {c.get("name") for c in columns if isinstance(c, dict)}
    problems = []
    flows = definition.get("flows")
    for fi, flow in enumerate(flows if isinstance(flows, list) else ()):
        nodes = flow.get("nodes") if isinstance(flow, dict) else None
        for ni, node in enumerate(nodes if isinstance(nodes, list) else ()):
            cards = node.get("cards") if isinstance(node, dict) else None
            for ci, card in enumerate(cards if isinstance(cards, list) else ()):
                if isinstance(card, dict) and card.get("type") in TYPES:
                    problems += _card_problems(card, tables, f"$.flows[{fi}].nodes[{ni}].cards[{ci}]")
    return problems


def _card_problems(card: dict, tables: dict, path: str) -> list[tuple[str, str]]:
    name = card.get("table")
    if not isinstance(name, str):
        return []
    if name not in tables:
        known = ", ".join(sorted(tables)) or "none"
        return [(f"{path}.table", f"the bot has no table {name!r} (its tables: {known})")]
    columns = tables[name]
    problems = []
    values = card.get("values")
    for key in values if isinstance(values, dict) else ():
        if key not in columns:
            problems.append((f"{path}.values.{key}", f"table {name!r} has no column {key!r}"))
    key_column = card.get("keyColumn")
    if isinstance(key_column, str) and key_column not in columns:
        problems.append((f"{path}.keyColumn", f"table {name!r} has no column {key_column!r}"))
    order_by = card.get("orderBy")
    if isinstance(order_by, str) and order_by not in columns and order_by not in SYSTEM_COLUMNS:
        problems.append((f"{path}.orderBy", f"table {name!r} has no column {order_by!r}"))
    if card.get("type") == "table_delete" and (card.get("recordId") is None) == (card.get("filter") is None):
        problems.append((f"{path}.recordId", "give a record id or a filter (one of them)"))
    return problems
