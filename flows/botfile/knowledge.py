"""The bot file's `knowledgeBases` (docs/bot-format.md, "Knowledge bases"): the limits of a
knowledge base and its sources, and the checks a JSON Schema cannot make. Django-free, as
the rest of flows/botfile: the schema is built from these limits, and flows/knowledge.py
(which stores KBs) refuses with the same words."""
from __future__ import annotations

import base64
import binascii
import re
from pathlib import PurePath

from flows.tables.definition import NAME_PATTERN as TABLE_NAME_PATTERN
from flows.tables.definition import TableError, parse_definition

from .problems import json_path

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # Botpress: 50 MB per document
MAX_SOURCES = 100  # Botpress: 100 documents per KB; here every kind of source counts
MAX_URL_CHARS = 350  # Botpress: "max 350 characters per URL"
MAX_TEXT_CHARS = 1_000_000
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
FOLDER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9 _.-]{0,63})(/[A-Za-z0-9][A-Za-z0-9 _.-]{0,63})*$")
# File name suffix -> the format the parser reads (runtime/knowledge/parsing.py).
FORMATS = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".md": "md", ".markdown": "md",
           ".txt": "txt"}
TABLE_NAME = re.compile(TABLE_NAME_PATTERN)

SOURCE_TYPES = ("text", "url", "sitemap", "table", "document")
INLINE_DOCUMENT_BYTES = 1024 * 1024  # a document up to 1 MB goes into an export as base64...
INLINE_TOTAL_BYTES = 2 * 1024 * 1024  # ...while the export's documents stay under 2 MB (the file's limit is 5 MB)


class KnowledgeError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def document_format(filename: str) -> str:
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in FORMATS:
        raise KnowledgeError("file", f"{filename!r}: the formats are PDF, DOCX, HTML, Markdown and TXT "
                                     "(.pdf, .docx, .html, .md, .txt)")
    return FORMATS[suffix]


def _dicts(value) -> list[tuple[int, dict]]:
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)] if isinstance(value, list) else []


def decoded(content: str) -> bytes | None:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return None


def botfile_problems(doc: dict) -> list[tuple[str, str]]:
    """(JSON path, message) for what the schema cannot say about `$.knowledgeBases`: a
    document's format and content, a table source's table and columns, the source limit.
    Shapes (required fields, types, name patterns) are the schema's."""
    tables = {}
    for i, entry in _dicts(doc.get("tables")):
        try:
            table = parse_definition(entry, ["tables", i])
        except TableError:
            continue
        tables[table.name] = table
    problems = []
    for k, kb in _dicts(doc.get("knowledgeBases")):
        sources = kb.get("sources")
        if isinstance(sources, list) and len(sources) > MAX_SOURCES:
            problems.append((json_path(["knowledgeBases", k, "sources"]),
                             f"a knowledge base holds at most {MAX_SOURCES} sources"))
        for j, source in _dicts(sources):
            at = ["knowledgeBases", k, "sources", j]
            if source.get("type") == "document":
                problems += _document_problems(source, at)
            elif source.get("type") == "table" and isinstance(source.get("table"), str):
                columns = source.get("columns") if isinstance(source.get("columns"), list) else []
                problem = table_source_problem(source["table"], columns, tables)
                if problem:
                    field, message = problem
                    problems.append((json_path(at) + "." + field, message))
    return problems


def _document_problems(source: dict, at: list) -> list[tuple[str, str]]:
    problems = []
    name = source.get("name")
    if isinstance(name, str):
        try:
            document_format(name)
        except KnowledgeError as exc:
            problems.append((json_path(at + ["name"]), exc.message))
    content = source.get("content")
    if isinstance(content, str):
        data = decoded(content)
        if data is None:
            problems.append((json_path(at + ["content"]), "must be the document's bytes in base64"))
        elif not data:
            problems.append((json_path(at + ["content"]), "the document is empty"))
        elif len(data) > MAX_DOCUMENT_BYTES:
            problems.append((json_path(at + ["content"]), f"a document is at most {MAX_DOCUMENT_BYTES // 2**20} MB"))
        if "size" in source or "sha256" in source:
            problems.append((json_path(at), "a document has either `content` or, when the file does not carry it, "
                                            "`size` and `sha256`; not both"))
    elif "content" not in source and not ("size" in source and "sha256" in source):
        problems.append((json_path(at), "a document needs `content` (its bytes in base64) or, when the file does "
                                        "not carry it, `size` and `sha256`"))
    return problems


def table_source_problem(table: str, columns: list, known_tables: dict) -> tuple[str, str] | None:
    """(field, message) when a table source cannot read what it names; None when it can."""
    definition = known_tables.get(table)
    if definition is None:
        listed = ", ".join(sorted(known_tables)) or "none"
        return "table", f"the bot has no table {table!r} (its tables: {listed})"
    for i, name in enumerate(columns):
        column = definition.column(name)
        if column is None:
            return f"columns[{i}]", f"table {table!r} has no column {name!r}"
        if column.type != "string":
            return f"columns[{i}]", f"column {name!r} is {column.type}; a table source reads string columns"
    if not columns and not definition.searchable:
        return "columns", (f"table {table!r} has no searchable column: mark one searchable, or list the "
                           "columns to read")
    return None
