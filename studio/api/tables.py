"""Tables and their rows (docs/tables.md, docs/rest-api.md "Tables"): definitions live in
the bot's draft, rows in the database. Reading needs the bot's view permission, every change
its change permission, as for the rest of the bot.

Bodies are checked by flows/tables (not by serializers), so a wrong type, an unknown column
or a broken filter is answered 400 with the JSON path into the body (`$.rows[1].price`,
`$.filter["$or"][0].age`); the serializers below only describe the shapes for the schema."""
from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers, status
from rest_framework.response import Response

from flows.botfile.problems import BotFileInvalid
from flows.tables import csv_io, service
from flows.tables.definition import TableError, UnknownTable
from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.bots import invalid_bot_file

TAGS = ["tables"]
PROBLEMS = OpenApiResponse(description="bad input: `details` name each problem's JSON path in the body")


class ColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["string", "number", "boolean", "date", "object"])
    searchable = serializers.BooleanField(required=False, help_text="string columns only")
    description = serializers.CharField(required=False)


class TableDefinitionSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="letters, digits and _, starting with a letter")
    description = serializers.CharField(required=False)
    columns = ColumnSerializer(many=True, help_text="at most 20; id, createdAt and updatedAt are the system's")


class TableSerializer(TableDefinitionSerializer):
    rows = serializers.IntegerField(help_text="how many rows the table has")


class TableListSerializer(serializers.Serializer):
    tables = TableSerializer(many=True)
    maxRows = serializers.IntegerField(help_text="rows a table may hold (FLOWSTUDIO_TABLE_MAX_ROWS)")


class RowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class RowsSerializer(serializers.Serializer):
    rows = serializers.ListField(child=serializers.JSONField(), help_text="rows: id, createdAt, updatedAt and "
                                                                          "the values by column")


class RowPageSerializer(RowsSerializer):
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class InsertSerializer(serializers.Serializer):
    rows = serializers.ListField(child=serializers.JSONField(), help_text="values by column name, at most 1000")


class FindSerializer(serializers.Serializer):
    filter = serializers.JSONField(required=False, help_text="the filter language (docs/tables.md)")
    search = serializers.CharField(required=False, help_text="words to find in the searchable columns")
    orderBy = serializers.CharField(required=False, default="id")
    orderDirection = serializers.ChoiceField(choices=["asc", "desc"], required=False, default="asc")
    limit = serializers.IntegerField(required=False, default=service.DEFAULT_LIMIT, min_value=1,
                                     max_value=service.MAX_LIMIT)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)
    group = serializers.JSONField(required=False, help_text='aggregations, e.g. {"status": ["key", "count"]}; '
                                                            "the rows are then the groups")


class UpsertSerializer(serializers.Serializer):
    keyColumn = serializers.CharField()
    rows = serializers.ListField(child=serializers.JSONField())


class UpsertResultSerializer(RowsSerializer):
    inserted = serializers.IntegerField()
    updated = serializers.IntegerField()


class DeleteSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    filter = serializers.JSONField(required=False)
    deleteAllRows = serializers.BooleanField(required=False)


class DeletedSerializer(serializers.Serializer):
    deleted = serializers.IntegerField()


class ValuesSerializer(serializers.Serializer):
    values = serializers.JSONField(help_text="the columns to change; null clears one")


class CsvImportSerializer(serializers.Serializer):
    csv = serializers.CharField(help_text="the file's text; its first line names the columns")


class ImportedSerializer(serializers.Serializer):
    inserted = serializers.IntegerField()


# ---- errors ---------------------------------------------------------------------------------------

def bad_input(exc: TableError):
    return errors.invalid(f"{exc.path}: {exc.message}", [errors.detail(exc.path, exc.message)])


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise errors.invalid("the body is a JSON object", [errors.detail("$", "must be a JSON object")])
    return request.data


class _TableView(ApiView):
    def table(self, bot, name):
        try:
            return service.get_table(bot, name)
        except UnknownTable as exc:
            raise errors.not_found(str(exc)) from None

    def handle_exception(self, exc):
        if isinstance(exc, TableError):
            exc = bad_input(exc)
        elif isinstance(exc, BotFileInvalid):
            exc = invalid_bot_file(exc, message="the table definition has problems")
        elif isinstance(exc, service.TableExists):
            exc = errors.conflict(str(exc))
        elif isinstance(exc, service.RowNotFound):
            exc = errors.not_found(str(exc))
        elif isinstance(exc, csv_io.CsvInvalid):
            exc = errors.invalid(f"the CSV file has {len(exc.errors)} problem(s); nothing was imported",
                                 [errors.detail(path, message) for path, message in exc.errors])
        return super().handle_exception(exc)


def _table_data(bot, table) -> dict:
    return {**table.to_dict(), "columns": table.to_dict()["columns"], "rows": service.count_rows(bot.pk, table)}


class Tables(_TableView):
    permissions = {"GET": "flows.view_bot", "POST": "flows.change_bot"}

    @operation(operation_id="listTables", tags=TAGS, responses=TableListSerializer)
    def get(self, request, bot_id):
        bot = self.bot(bot_id)
        return Response({"tables": [_table_data(bot, t) for t in service.list_tables(bot)],
                         "maxRows": service.max_rows()})

    @operation(operation_id="createTable", tags=TAGS, request=TableDefinitionSerializer,
               responses={201: TableSerializer, 400: PROBLEMS,
                          409: OpenApiResponse(description="the bot already has a table of that name")})
    def post(self, request, bot_id):
        bot = self.bot(bot_id)
        table = service.create_table(bot, _body(request), user=request.user)
        return Response(_table_data(bot, table), status=status.HTTP_201_CREATED)


class TableDetail(_TableView):
    permissions = {"GET": "flows.view_bot", "PUT": "flows.change_bot", "DELETE": "flows.change_bot"}

    @operation(operation_id="getTable", tags=TAGS, responses=TableSerializer)
    def get(self, request, bot_id, table):
        bot = self.bot(bot_id)
        return Response(_table_data(bot, self.table(bot, table)))

    @operation(operation_id="replaceTable", tags=TAGS, request=TableDefinitionSerializer,
               description="A new name renames the table; a column whose type changes, or that goes, "
                           "loses its values in every row.",
               responses={200: TableSerializer, 400: PROBLEMS, 409: OpenApiResponse(description="name taken")})
    def put(self, request, bot_id, table):
        bot = self.bot(bot_id)
        self.table(bot, table)
        updated = service.update_table(bot, table, _body(request), user=request.user)
        return Response(_table_data(bot, updated))

    @operation(operation_id="deleteTable", tags=TAGS, responses={200: DeletedSerializer})
    def delete(self, request, bot_id, table):
        bot = self.bot(bot_id)
        self.table(bot, table)
        return Response({"deleted": service.delete_table(bot, table, user=request.user)})


class Rows(_TableView):
    permissions = {"GET": "flows.view_bot", "POST": "flows.change_bot"}

    @operation(operation_id="listRows", tags=TAGS, parameters=[
        OpenApiParameter("limit", OpenApiTypes.INT), OpenApiParameter("offset", OpenApiTypes.INT),
        OpenApiParameter("orderBy", OpenApiTypes.STR), OpenApiParameter("orderDirection", OpenApiTypes.STR,
                                                                         enum=["asc", "desc"]),
        OpenApiParameter("search", OpenApiTypes.STR)], responses={200: RowPageSerializer, 400: PROBLEMS})
    def get(self, request, bot_id, table):
        bot = self.bot(bot_id)
        query = request.query_params
        numbers = {}
        for name, default in (("limit", service.DEFAULT_LIMIT), ("offset", 0)):
            text = query.get(name, str(default))
            if not text.isdigit():
                raise errors.invalid(f"{name} is a whole number", [errors.detail(f"$query.{name}", "a whole number")])
            numbers[name] = int(text)
        try:
            page = service.find_rows(bot.pk, self.table(bot, table), search=query.get("search") or None,
                                     order_by=query.get("orderBy", "id"),
                                     order_direction=query.get("orderDirection", "asc"), **numbers)
        except TableError as exc:
            raise bad_input(TableError(exc.path.replace("$.", "$query.", 1), exc.message)) from None
        return Response(page)

    @operation(operation_id="insertRows", tags=TAGS, request=InsertSerializer,
               responses={201: RowsSerializer, 400: PROBLEMS})
    def post(self, request, bot_id, table):
        bot = self.bot(bot_id)
        body = _body(request)
        rows = service.insert_rows(bot.pk, self.table(bot, table), body.get("rows"))
        return Response({"rows": rows}, status=status.HTTP_201_CREATED)


class FindRows(_TableView):
    permissions = {"POST": "flows.view_bot"}

    @operation(operation_id="findRows", tags=TAGS, request=FindSerializer,
               description="A POST so the filter travels as JSON; it changes nothing.",
               responses={200: RowPageSerializer, 400: PROBLEMS})
    def post(self, request, bot_id, table):
        bot = self.bot(bot_id)
        body = _body(request)
        unknown = sorted(set(body) - {"filter", "search", "orderBy", "orderDirection", "limit", "offset", "group"})
        if unknown:
            raise errors.invalid("unknown fields", [errors.detail(f"$.{k}", "is not a field of a find") for k in unknown])
        return Response(service.find_rows(
            bot.pk, self.table(bot, table), filter=body.get("filter"), search=body.get("search"),
            order_by=body.get("orderBy", "id"), order_direction=body.get("orderDirection", "asc"),
            limit=body.get("limit", service.DEFAULT_LIMIT), offset=body.get("offset", 0), group=body.get("group")))


class UpsertRows(_TableView):
    permissions = {"POST": "flows.change_bot"}

    @operation(operation_id="upsertRows", tags=TAGS, request=UpsertSerializer,
               responses={200: UpsertResultSerializer, 400: PROBLEMS})
    def post(self, request, bot_id, table):
        bot = self.bot(bot_id)
        body = _body(request)
        return Response(service.upsert_rows(bot.pk, self.table(bot, table), body.get("keyColumn"), body.get("rows")))


class DeleteRows(_TableView):
    permissions = {"POST": "flows.change_bot"}

    @operation(operation_id="deleteRows", tags=TAGS, request=DeleteSerializer,
               description="Exactly one of `ids`, `filter` or `deleteAllRows: true`.",
               responses={200: DeletedSerializer, 400: PROBLEMS})
    def post(self, request, bot_id, table):
        bot = self.bot(bot_id)
        body = _body(request)
        delete_all = body.get("deleteAllRows", False)
        if not isinstance(delete_all, bool):
            raise bad_input(TableError("$.deleteAllRows", "must be true or false"))
        return Response({"deleted": service.delete_rows(bot.pk, self.table(bot, table), ids=body.get("ids"),
                                                        filter=body.get("filter"), delete_all=delete_all)})


class RowDetail(_TableView):
    permissions = {"GET": "flows.view_bot", "PATCH": "flows.change_bot", "DELETE": "flows.change_bot"}

    @operation(operation_id="getRow", tags=TAGS, responses={200: RowSerializer})
    def get(self, request, bot_id, table, row_id):
        bot = self.bot(bot_id)
        row = service.get_row(bot.pk, self.table(bot, table), row_id)
        if row is None:
            raise errors.not_found(f"table {table!r} has no row {row_id}")
        return Response(row)

    @operation(operation_id="updateRow", tags=TAGS, request=ValuesSerializer,
               responses={200: RowSerializer, 400: PROBLEMS})
    def patch(self, request, bot_id, table, row_id):
        bot = self.bot(bot_id)
        body = _body(request)
        return Response(service.update_row(bot.pk, self.table(bot, table), row_id, body.get("values")))

    @operation(operation_id="deleteRow", tags=TAGS, responses={204: None})
    def delete(self, request, bot_id, table, row_id):
        bot = self.bot(bot_id)
        if not service.delete_rows(bot.pk, self.table(bot, table), ids=[row_id]):
            raise errors.not_found(f"table {table!r} has no row {row_id}")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImportCsv(_TableView):
    permissions = {"POST": "flows.change_bot"}

    @operation(operation_id="importTableCsv", tags=TAGS, request=CsvImportSerializer,
               description="Every cell is checked first; nothing is written when any is wrong. Error paths "
                           "are `$.csv[<line>].<column>` (the header is line 1).",
               responses={201: ImportedSerializer, 400: PROBLEMS})
    def post(self, request, bot_id, table):
        bot = self.bot(bot_id)
        text = _body(request).get("csv")
        if not isinstance(text, str):
            raise bad_input(TableError("$.csv", "the CSV file's text, a string"))
        inserted = csv_io.import_csv(bot, self.table(bot, table), text)
        return Response({"inserted": inserted}, status=status.HTTP_201_CREATED)


class ExportCsv(_TableView):
    permissions = {"GET": "flows.view_bot"}

    @operation(operation_id="exportTableCsv", tags=TAGS, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, bot_id, table):
        bot = self.bot(bot_id)
        found = self.table(bot, table)
        response = HttpResponse(csv_io.export_csv(bot, found), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{found.name}.csv"'
        return response
