"""Type flow: what each card writes, held against what is declared and what is read.

The bot-file validator checks each piece on its own; this pass follows values through the
bot, so a builder learns before publishing what would otherwise fail in a conversation:

errors (publishing is refused):
  - a card writes a value its variable's declaration refuses (a Person capture, an object
    `{first, last}`, into `user.name` declared string fails the turn with "expected string,
    got object"); the problem carries fixes;
  - a Workflow card leaves out an input the called flow needs (declared input, no default),
    or passes text to an input declared otherwise (`"12"` to a number).
warnings (shown, publishing allowed):
  - a node no transition reaches;
  - a reference to a variable that is not declared (and whether anything writes it);
  - a field read from an object that has no such field (`user.name.frist`);
  - a template that shows a captured object whole (`{{user.name}}` of a Person reads as JSON);
  - a loop of nodes with nothing in it that waits for the user.
Transitions to nodes that do not exist are the validator's (flows/botfile/graph.py).

A fix is `{"label": ..., "patch": [JSON Patch operations on the bot file]}`, the patch
starting with `test` operations so it is refused when the file changed since the check.
Pure: no Django, tolerant of any shape (what is malformed is the validator's to name).
"""
from __future__ import annotations

import copy
import difflib
import re
from collections import deque
from dataclasses import dataclass, field

from runtime.engine import card_transitions
from runtime.engine.cards.capture import KIND_LABELS
from runtime.engine.expressions import ExpressionError
from runtime.engine.templates import compile_template

from .problems import Problem, json_path

DECLARED_SCOPES = ("workflow", "user", "bot")
_SCOPES = ("workflow", "user", "bot", "env", "session", "conversation")
# `scope.name` and an optional `.field`, in templates (`{{ }}`, `@scope.name`), conditions and code.
_REFERENCE = re.compile(
    r"(?<![A-Za-z0-9_$.])(" + "|".join(_SCOPES) + r")\s*\.\s*([A-Za-z_$][A-Za-z0-9_$]*)"
    r"(?:\s*\.\s*([A-Za-z_$][A-Za-z0-9_$]*))?")
_ASSIGNED = r"(?:\s*(?:\.\s*[A-Za-z_$][A-Za-z0-9_$]*|\[[^\]]*\]))*\s*(?:=(?!=)|[-+*/%&|^]=|\*\*=|<<=|>>>?=|&&=|\|\|=|\?\?=|\+\+|--|\.\s*(?:push|pop|shift|unshift|splice|sort|reverse)\s*\()"
_CODE_WRITE = re.compile(
    r"(?<![A-Za-z0-9_$.])(workflow|user|bot|session|conversation)\s*\.\s*([A-Za-z_$][A-Za-z0-9_$]*)(?=" + _ASSIGNED + ")")
_CODE_PREFIX_WRITE = re.compile(
    r"(?:\+\+|--|delete\s+)\s*(workflow|user|bot|session|conversation)\s*\.\s*([A-Za-z_$][A-Za-z0-9_$]*)")
# A scope used whole (`user[key] = ...`, `Object.assign(session, ...)`): any of its variables may be written.
_WHOLE_SCOPE = re.compile(r"(?<![A-Za-z0-9_$.])(workflow|user|bot|session|conversation)(?!\s*\.\s*[A-Za-z_$])(?![A-Za-z0-9_$])")
# A template that shows a variable whole: `{{ user.name }}` or `@user.name` (not `@user.name.first`).
_SHOWN_WHOLE = re.compile(
    r"\{\{\s*(workflow|user|bot|session|conversation)\s*\.\s*([A-Za-z_$][A-Za-z0-9_$]*)\s*\}\}"
    r"|(?<![\w@])@(workflow|user|bot|session|conversation)\.([A-Za-z_$][A-Za-z0-9_$]*)(?![A-Za-z0-9_$])(?!\.[A-Za-z_$])")
_NOT_SCANNED = ("comment",)
_CODE_CARDS = ("code",)
# Fields that name a variable rather than read one.
_REF_FIELDS = ("variable", "choicesFrom")
_ENTRY_KINDS = ("start", "entry", "trigger")
_WAITING_CARDS = ("wait", "capture")


@dataclass(frozen=True)
class Written:
    """The type of what a card stores: a JSON type (`date` is ISO 8601 text), the fields of
    an object when they are fixed, and whether text is free (it may happen to fit a date,
    an enum or a pattern, which only the conversation tells)."""
    type: str
    what: str
    fields: tuple[tuple[str, str], ...] | None = None
    free_text: bool = False
    main: str | None = None  # the field a builder most likely wanted, for the "read ..." fix


def _obj(what, main=None, **fields) -> Written:
    return Written("object", what, tuple(fields.items()), main=main)


def _capture_written(card: dict) -> Written | None:
    kind = card.get("capture")
    what = f"a {KIND_LABELS.get(kind, kind)} capture"
    text = ("raw", "entity_list", "entity_regex")
    if kind == "person":
        return _obj(what, "first", first="string", last="string")
    if kind == "address":
        return _obj(what, "street", number="string", street="string", city="string", zip="string", country="string")
    if kind == "price":
        return _obj(what, "amount", amount="number", currency="string")
    if kind == "color":
        return _obj(what, "name", name="string", hex="string", rgb="array")
    if kind == "cron":
        return _obj(what, "cron", cron="string", repeatable="boolean")
    if kind == "operating_system":
        return _obj(what, "name", name="string", version="string")
    if kind in ("number", "percentage", "quantity", "time_measurement", "weight", "volume", "temperature",
                "people_count"):
        return Written("number", what)
    if kind in ("boolean", "confirmation"):
        return Written("boolean", what)
    if kind == "multiple_choice":
        return Written("array", what)
    if kind == "datetime":
        return Written("date", what)
    if kind in ("email", "phone"):
        return Written("string", what)
    if kind in ("single_choice", "raw") or kind in text:
        return _choice_written(card, what, kind)
    return None


def card_written(card: dict) -> Written | None:
    """What a card stores in its `variable` (None: unknown); the editor's variable picker and
    `{{` completion show the same types (studio/editor/catalogue.py)."""
    kind = card.get("type")
    if kind == "capture":
        return _capture_written(card)
    if kind == "ai_generate_text":
        return Written("string", "an AI Generate Text card", free_text=True)
    if kind == "webchatGetUserData":
        return _obj("a Get User Data card", None, id="string", name="string", pictureUrl="string", data="object")
    return None


def _choice_written(card: dict, what: str, kind: str) -> Written | None:
    if card.get("choicesFrom") is not None:
        return None  # the values come from a variable: whatever it holds
    types = set()
    for item in card.get("choices") or []:
        value = item.get("value") if isinstance(item, dict) else item
        if value is None or isinstance(value, str):
            types.add("string")
        elif isinstance(value, bool):
            types.add("boolean")
        elif isinstance(value, (int, float)):
            types.add("number")
        else:
            return None
    if kind == "raw" and types - {"string"}:
        return None  # typed text or a choice's value: either may come
    if len(types) > 1:
        return None
    kind_of = types.pop() if types else "string"
    return Written(kind_of, what, free_text=kind_of == "string")


@dataclass
class _Write:
    key: tuple  # (scope, flow index or None, name)
    parts: list  # where the card names the variable
    written: Written | None  # None: unknown (code, a variable's contents...)
    card_parts: list = field(default_factory=list)


@dataclass
class Report:
    errors: list[Problem]
    warnings: list[Problem]


def check(doc) -> Report:
    """Every type-flow error and warning of a bot file (any shape)."""
    if not isinstance(doc, dict):
        return Report([], [])
    return _Checker(doc).run()


def errors(doc) -> list[Problem]:
    return check(doc).errors


# ---- reading the file tolerantly ---------------------------------------------------------------

def _list(value) -> list:
    return value if isinstance(value, list) else []


def _dicts(value) -> list[tuple[int, dict]]:
    return [(i, item) for i, item in enumerate(_list(value)) if isinstance(item, dict)]


def _strings(value, parts):
    if isinstance(value, str):
        yield parts, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, parts + [key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, parts + [i])


def pointer(parts) -> str:
    """A JSON Pointer (RFC 6901) for JSON Patch from path parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _split_ref(ref) -> tuple[str, str] | None:
    if isinstance(ref, str) and ref.count(".") == 1:
        scope, name = ref.split(".")
        if scope in _SCOPES and name:
            return scope, name
    return None


def _type_phrase(t: str) -> str:
    return {"string": "text", "number": "a number", "boolean": "true or false", "array": "a list",
            "date": "a date (ISO 8601 text)", "object": "an object"}.get(t, t)


def _js(t: str) -> str:
    return "string" if t == "date" else t


class _Checker:
    def __init__(self, doc: dict):
        self.doc = doc
        self.flows = _dicts(doc.get("flows"))
        self.flow_by_name: dict[str, tuple[int, dict]] = {}
        for fi, flow in self.flows:
            if isinstance(flow.get("name"), str):
                self.flow_by_name.setdefault(flow["name"], (fi, flow))
        self.schemas = {e["name"]: e.get("schema") for _, e in _dicts(doc.get("schemas"))
                        if isinstance(e.get("name"), str) and isinstance(e.get("schema"), dict)}
        # (scope, flow index or None, name) -> (path parts of the declaration, declaration)
        self.decls: dict[tuple, tuple[list, dict]] = {}
        for vi, var in _dicts(doc.get("variables")):
            if var.get("scope") in ("user", "bot") and isinstance(var.get("name"), str):
                self.decls.setdefault((var["scope"], None, var["name"]), (["variables", vi], var))
        for fi, flow in self.flows:
            for vi, var in _dicts(flow.get("variables")):
                if isinstance(var.get("name"), str):
                    self.decls.setdefault(("workflow", fi, var["name"]), (["flows", fi, "variables", vi], var))
        self.env = {e["name"] for _, e in _dicts(doc.get("config")) if isinstance(e.get("name"), str)}
        self.writes: list[_Write] = []
        self.whole: set[tuple] = set()  # (scope, flow index or None) written as a whole by code
        self._collect_writes()
        self.by_key: dict[tuple, list[_Write]] = {}
        for write in self.writes:
            self.by_key.setdefault(write.key, []).append(write)
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def run(self) -> Report:
        self._type_mismatches()
        self._missing_inputs()
        self._unreachable_nodes()
        self._references()
        self._inputless_loops()
        return Report(self.errors, self.warnings)

    def key(self, scope: str, fi: int, name: str) -> tuple:
        return (scope, fi if scope == "workflow" else None, name)

    def cards(self):
        for fi, flow in self.flows:
            for ni, node in _dicts(flow.get("nodes")):
                for ci, card in _dicts(node.get("cards")):
                    yield fi, ["flows", fi, "nodes", ni, "cards", ci], card

    # ---- what is written ------------------------------------------------------------------
    def _collect_writes(self) -> None:
        for fi, parts, card in self.cards():
            kind = card.get("type")
            if kind in _CODE_CARDS:
                self._code_writes(fi, card.get("code"), parts)
                continue
            if kind == "call" and isinstance(card.get("name"), str):
                self.writes.append(_Write(("workflow", fi, card["name"]), parts + ["name"],
                                          self._call_written(card), parts))
            if kind == "ai_task":
                for oi, out in _dicts(card.get("outputs")):
                    ref = _split_ref(out.get("variable"))
                    if ref:
                        # Its answer is held to the variable's own declaration: it writes that type.
                        self.writes.append(_Write(self.key(ref[0], fi, ref[1]), parts + ["outputs", oi, "variable"],
                                                  None, parts))
                continue
            ref = _split_ref(card.get("variable"))
            if ref is None:
                continue
            written = card_written(card)
            self.writes.append(_Write(self.key(ref[0], fi, ref[1]), parts + ["variable"], written, parts))
        for hi, hook in _dicts(self.doc.get("hooks")):
            for parts, text in _strings(hook, ["hooks", hi]):
                self._code_writes(None, text, parts)

    def _code_writes(self, fi, code, parts) -> None:
        if not isinstance(code, str):
            return
        for pattern in (_CODE_WRITE, _CODE_PREFIX_WRITE):
            for scope, name in pattern.findall(code):
                if scope == "workflow" and fi is None:
                    self.whole.add(("workflow", "any"))
                else:
                    self.writes.append(_Write(self.key(scope, fi, name), parts + ["code"], None, parts))
        for scope in _WHOLE_SCOPE.findall(code):
            self.whole.add((scope, fi if scope == "workflow" else None))

    def _call_written(self, card: dict) -> Written | None:
        callee = self.flow_by_name.get(card.get("flow"))
        if callee is None:
            return None
        outputs = {v["name"]: v.get("type") for _, v in _dicts(callee[1].get("variables"))
                   if v.get("output") is True and isinstance(v.get("name"), str)}
        fields = {name: ("string" if t == "date" else t if t in ("string", "number", "boolean", "object", "array")
                         else "unknown") for name, t in outputs.items()}
        return Written("object", f"the Workflow card calling '{card.get('flow')}'", tuple(fields.items()))

    def writes_of(self, key: tuple) -> list[_Write]:
        return self.by_key.get(key, [])

    def written_anywhere(self, key: tuple) -> bool:
        scope, fi, _ = key
        if (scope, fi) in self.whole or (scope == "workflow" and ("workflow", "any") in self.whole):
            return True
        return bool(self.writes_of(key))

    # ---- errors: type mismatches ----------------------------------------------------------
    def _type_mismatches(self) -> None:
        for write in self.writes:
            if write.written is None or write.key not in self.decls:
                continue
            decl_parts, decl = self.decls[write.key]
            refusal = self._refusal(write.written, decl)
            if refusal is None:
                continue
            scope, _, name = write.key
            ref = f"{scope}.{name}"
            declared = decl.get("type")
            stores = _type_phrase(write.written.type)
            if write.written.fields is not None and write.written.type == "object":
                stores = "an object {" + ", ".join(f for f, _ in write.written.fields) + "}"
            message = (f"{write.written.what} stores {stores}, but {ref} is declared {declared}"
                       f"{' ' + refusal if refusal else ''}; the conversation would fail here")
            self.errors.append(Problem(json_path(write.parts), message,
                                       fixes=tuple(self._mismatch_fixes(write, decl_parts, decl))))

    def _refusal(self, written: Written, decl: dict) -> str | None:
        """None when `written` fits the declaration, else why not ("" when the type says it all)."""
        declared = decl.get("type", "string")
        given = written.type
        if declared == "string":
            return None if given in ("string", "date") else f'("expected string, got {_js(given)}")'
        if declared in ("number", "boolean", "object", "array"):
            return None if given == declared else f'("expected {declared}, got {_js(given)}")'
        if declared == "date":
            return None if given == "date" or (given == "string" and written.free_text) else \
                f'(expected a date, ISO 8601 text, got {_type_phrase(given)})'
        if declared in ("enum", "pattern"):
            return None if given in ("string", "date") else f"(expected text, got {_type_phrase(given)})"
        if declared == "schema":
            schema = self.schemas.get(decl.get("schema"))
            if not isinstance(schema, dict):
                return None
            wanted = schema.get("type")
            if isinstance(wanted, str) and wanted != _js(given) and not (wanted == "integer" and given == "number"):
                return f"with schema '{decl.get('schema')}' (expected {wanted}, got {_js(given)})"
            if given == "object" and written.fields is not None and isinstance(schema.get("required"), list):
                missing = [r for r in schema["required"] if r not in dict(written.fields)]
                if missing:
                    return f"with schema '{decl.get('schema')}', which requires {', '.join(map(str, missing))}"
            return None
        return None

    def _mismatch_fixes(self, write: _Write, decl_parts: list, decl: dict) -> list[dict]:
        scope, fi, name = write.key
        ref = f"{scope}.{name}"
        others = self.writes_of(write.key)
        agreeing = all(w.written is not None and w.written.type == write.written.type for w in others)
        fixes = []
        if not agreeing:
            return fixes  # another card writes something else: one declaration cannot please both
        new_type = write.written.type
        declare = self._declare_patch(decl_parts, decl, new_type)
        fixes.append({"label": f"Declare {ref} as {new_type}", "patch": declare})
        main = write.written.main
        fields = dict(write.written.fields or ())
        if main and fields.get(main) == _js(decl.get("type", "string")):
            reads = self._rewrite_reads(scope, fi, name, main)
            fixes.append({
                "label": f"Declare {ref} as object and read {ref}.{main} where it is used",
                "patch": declare + reads,
            })
        return fixes

    def _declare_patch(self, decl_parts: list, decl: dict, new_type: str) -> list[dict]:
        at = pointer(decl_parts)
        patch = [{"op": "test", "path": at + "/type", "value": decl.get("type")},
                 {"op": "replace", "path": at + "/type", "value": new_type}]
        for key in ("values", "pattern", "schema", "default"):
            if key in decl:
                patch.append({"op": "remove", "path": at + "/" + key})
        return patch

    def _rewrite_reads(self, scope: str, fi, name: str, main: str) -> list[dict]:
        whole = re.compile(r"(?<![A-Za-z0-9_$.])(" + scope + r"\s*\.\s*" + re.escape(name) + r")(?![A-Za-z0-9_$])(?!\s*\.)")
        patch = []
        for cfi, parts, card in self.cards():
            if card.get("type") in _CODE_CARDS + _NOT_SCANNED or (scope == "workflow" and cfi != fi):
                continue
            for sub, text in _strings(_fields(card), parts):
                if sub[len(parts)] in _REF_FIELDS or (len(sub) > len(parts) + 2 and sub[-1] == "variable"):
                    continue
                changed = whole.sub(lambda m: f"{m.group(1)}.{main}", text)
                if changed != text:
                    patch += [{"op": "test", "path": pointer(sub), "value": text},
                              {"op": "replace", "path": pointer(sub), "value": changed}]
        return patch

    # ---- errors: missing inputs -----------------------------------------------------------
    def _missing_inputs(self) -> None:
        for _, parts, card in self.cards():
            if card.get("type") != "call":
                continue
            callee = self.flow_by_name.get(card.get("flow"))
            if callee is None:
                continue  # the validator names the unknown flow
            given = card.get("inputs") if isinstance(card.get("inputs"), dict) else {}
            self._input_types(card, parts, callee[1], given)
            for _, var in _dicts(callee[1].get("variables")):
                name = var.get("name")
                if var.get("input") is True and var.get("default") is None and isinstance(name, str) \
                        and name not in given:
                    self.errors.append(Problem(
                        json_path(parts + ["inputs"]),
                        f"flow {card.get('flow')!r} needs the input {name!r} (it has no default); "
                        f"give it a value here",
                    ))

    def _input_types(self, card: dict, parts: list, callee: dict, given: dict) -> None:
        """An input written as text is passed as text (only `{{ expr }}` alone keeps its type):
        `"12"` into a number input fails the call with "expected number, got string"."""
        declared = {v["name"]: v for _, v in _dicts(callee.get("variables"))
                    if v.get("input") is True and isinstance(v.get("name"), str)}
        for name, source in given.items():
            decl = declared.get(name)
            if decl is None or not isinstance(source, str) or _keeps_its_type(source):
                continue
            refusal = self._refusal(Written("string", "", free_text=True), decl)
            if refusal is None:
                continue
            where = parts + ["inputs", name]
            fixes = ()
            literal = source.strip()
            if (decl.get("type") == "number" and re.fullmatch(r"-?\d+(\.\d+)?", literal)) \
                    or (decl.get("type") == "boolean" and literal in ("true", "false")):
                fixes = ({"label": f"Pass {literal} as a {decl['type']}: {{{{{literal}}}}}",
                          "patch": [{"op": "test", "path": pointer(where), "value": source},
                                    {"op": "replace", "path": pointer(where), "value": f"{{{{{literal}}}}}"}]},)
            self.errors.append(Problem(
                json_path(where),
                f"the input {name!r} is passed as text, but flow {card.get('flow')!r} declares it "
                f"{decl.get('type')} {refusal}; only {{{{ expression }}}} alone keeps its type; "
                "the conversation would fail here",
                fixes=fixes,
            ))

    # ---- warnings: unreachable nodes ----------------------------------------------------------
    def _unreachable_nodes(self) -> None:
        for fi, flow in self.flows:
            nodes = _dicts(flow.get("nodes"))
            by_id = {node.get("id"): node for _, node in nodes}
            seen = {node.get("id") for _, node in nodes if node.get("kind") in _ENTRY_KINDS}
            queue = deque(seen)
            while queue:
                node = by_id.get(queue.popleft())
                for target in _targets(node) if node else []:
                    if target not in seen:
                        seen.add(target)
                        queue.append(target)
            for ni, node in nodes:
                if node.get("id") not in seen:
                    self.warnings.append(Problem(
                        json_path(["flows", fi, "nodes", ni]),
                        f"node {node.get('name') or node.get('id')!r} is never reached: no transition leads to it",
                    ))

    # ---- warnings: references ---------------------------------------------------------------
    def _references(self) -> None:
        for fi, parts, card in self.cards():
            if card.get("type") in _NOT_SCANNED:
                continue
            is_code = card.get("type") in _CODE_CARDS
            reported: set[str] = set()
            for sub, text in _strings(_fields(card), parts):
                for match in _REFERENCE.finditer(text):
                    scope, name, sub_field = match.groups()
                    reference = f"{scope}.{name}"
                    if reference not in reported:
                        problem = self._undeclared(fi, scope, name, sub)
                        if problem:
                            reported.add(reference)
                            self.warnings.append(problem)
                            continue
                    if not sub_field and not is_code and f"shown {reference}" not in reported \
                            and not (card.get("type") == "call" and sub[len(parts)] == "inputs"):
                        problem = self._shown_whole(fi, scope, name, sub, text)
                        if problem:
                            reported.add(f"shown {reference}")
                            self.warnings.append(problem)
                    if sub_field and not is_code and f"{reference}.{sub_field}" not in reported:
                        problem = self._missing_field(fi, scope, name, sub_field, sub, text)
                        if problem:
                            reported.add(f"{reference}.{sub_field}")
                            self.warnings.append(problem)

    def _undeclared(self, fi: int, scope: str, name: str, parts: list) -> Problem | None:
        if scope == "env":
            if name in self.env:
                return None
            return Problem(json_path(parts), f"env.{name} is not declared; add it to the configuration variables")
        key = self.key(scope, fi, name)
        written = self.written_anywhere(key)
        if scope in ("session", "conversation"):  # never declared: only a read nothing writes is suspicious
            if written:
                return None
            return Problem(json_path(parts), f"{scope}.{name} is read here but no card or code writes it")
        if key in self.decls or (scope == "workflow" and self._is_call_name(fi, name)):
            return None
        where = "this flow's variables" if scope == "workflow" else f"the {scope} variables"
        if written:
            return Problem(json_path(parts), f"{scope}.{name} is not declared; add it to {where}")
        return Problem(json_path(parts),
                       f"{scope}.{name} is not declared and no card or code writes it; add it to {where}")

    def _is_call_name(self, fi: int, name: str) -> bool:
        return any(w.parts[-1] == "name" for w in self.writes_of(("workflow", fi, name)))

    def _shape(self, fi: int, scope: str, name: str) -> tuple[tuple[str, ...], str] | None:
        """The fields an object variable is known to have, and where that is known from."""
        key = self.key(scope, fi, name)
        decl = self.decls.get(key, (None, {}))[1]
        if decl.get("type") == "schema":
            schema = self.schemas.get(decl.get("schema"))
            if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
                return tuple(schema["properties"]), f"schema '{decl.get('schema')}'"
            return None
        writes = self.writes_of(key)
        if not writes or (scope, key[1]) in self.whole or (scope == "workflow" and ("workflow", "any") in self.whole):
            return None
        if any(w.written is None or w.written.fields is None for w in writes):
            return None
        fields: list[str] = []
        for w in writes:
            fields += [f for f, _ in w.written.fields if f not in fields]
        return tuple(fields), writes[0].written.what

    def _missing_field(self, fi, scope, name, sub_field, parts, text) -> Problem | None:
        shape = self._shape(fi, scope, name)
        if shape is None:
            return None
        fields, source = shape
        if sub_field in fields:
            return None
        ref = f"{scope}.{name}"
        message = (f"{ref} has no field {sub_field!r}: {source} gives it "
                   + ("{" + ", ".join(fields) + "}" if fields else "no fields"))
        fixes = ()
        guess = difflib.get_close_matches(sub_field, fields, n=1)
        if guess:
            message += f"; did you mean {ref}.{guess[0]}?"
            wrong = re.compile(r"(?<![A-Za-z0-9_$.])(" + scope + r"\s*\.\s*" + re.escape(name) + r"\s*\.\s*)"
                               + re.escape(sub_field) + r"(?![A-Za-z0-9_$])")
            fixed = wrong.sub(lambda m: m.group(1) + guess[0], text)
            fixes = ({"label": f"Read {ref}.{guess[0]} instead",
                      "patch": [{"op": "test", "path": pointer(parts), "value": text},
                                {"op": "replace", "path": pointer(parts), "value": fixed}]},)
        return Problem(json_path(parts), message, fixes=fixes)

    def _shown_whole(self, fi, scope, name, parts, text) -> Problem | None:
        """A template that prints an object a capture stored: the user reads JSON
        (`Nice to meet you, {"first":"Ada","last":"Lovelace"}!`)."""
        shown = [m for m in _SHOWN_WHOLE.finditer(text)
                 if (m.group(1) or m.group(3)) == scope and (m.group(2) or m.group(4)) == name]
        if not shown:
            return None
        key = self.key(scope, fi, name)
        if self.decls.get(key, (None, {}))[1].get("type") not in (None, "object"):
            return None  # declared otherwise: a mismatch (an error) or a schema the builder chose
        writes = self.writes_of(key)
        mains = {w.written.main if w.written is not None else None for w in writes}
        if not writes or len(mains) != 1 or None in mains or (scope, key[1]) in self.whole:
            return None
        main = mains.pop()
        what = writes[0].written.what
        ref = f"{scope}.{name}"
        fields = ", ".join(f for f, _ in writes[0].written.fields)
        fixed = text
        for m in reversed(shown):
            start, end = m.span(2) if m.group(2) else m.span(4)
            fixed = fixed[:end] + "." + main + fixed[end:]
        return Problem(
            json_path(parts),
            f"{ref} holds what {what} stores, an object {{{fields}}}: shown whole, the message reads "
            f"as JSON; show {ref}.{main}?",
            fixes=({"label": f"Show {ref}.{main}",
                    "patch": [{"op": "test", "path": pointer(parts), "value": text},
                              {"op": "replace", "path": pointer(parts), "value": fixed}]},),
        )

    # ---- warnings: loops that never wait ------------------------------------------------------
    def _inputless_loops(self) -> None:
        waits = self._waiting_flows()
        for fi, flow in self.flows:
            nodes = _dicts(flow.get("nodes"))
            index = {node.get("id"): ni for ni, node in nodes if isinstance(node.get("id"), str)}
            graph = {node["id"]: [t for t in _targets(node) if t in index] for _, node in nodes
                     if isinstance(node.get("id"), str)}
            by_id = {node["id"]: node for _, node in nodes if isinstance(node.get("id"), str)}
            for component in _cycles(graph):
                if any(self._node_waits(by_id[n], waits) for n in component):
                    continue
                ordered = sorted(component, key=index.__getitem__)
                names = " → ".join(repr(by_id[n].get("name") or n) for n in ordered + ordered[:1])
                what = (f"the node {names.split(' → ')[0]} leads back to itself" if len(ordered) == 1
                        else f"the nodes {names} loop")
                self.warnings.append(Problem(
                    json_path(["flows", fi, "nodes", index[ordered[0]]]),
                    f"{what} without waiting for the user (no Wait for User Input, Capture "
                    "Information or autonomous node on the way): a turn that enters the loop runs until "
                    "a condition leaves it or the loop guard stops the turn",
                ))

    def _node_waits(self, node: dict, waiting_flows: set[str]) -> bool:
        if node.get("kind") == "autonomous":
            return True
        for _, card in _dicts(node.get("cards")):
            if card.get("type") in _WAITING_CARDS:
                return True
            if card.get("type") == "call" and card.get("flow") in waiting_flows:
                return True
        return False

    def _waiting_flows(self) -> set[str]:
        """Flows that may wait for the user somewhere (a call into one counts as waiting)."""
        waiting: set[str] = set()
        changed = True
        while changed:
            changed = False
            for name, (_, flow) in self.flow_by_name.items():
                if name not in waiting and any(self._node_waits(n, waiting) for _, n in _dicts(flow.get("nodes"))):
                    waiting.add(name)
                    changed = True
        return waiting


def _keeps_its_type(source: str) -> bool:
    """A template that is one `{{ expression }}` (blanks around it aside) gives the
    expression's value; any other gives text (runtime/engine/templates.py)."""
    try:
        template = compile_template(source)
    except ExpressionError:
        return True  # the validator names a bad template; its type is not ours to guess
    expressions = [p for p in template.parts if not isinstance(p, str)]
    return len(expressions) == 1 and all(not isinstance(p, str) or not p.strip() for p in template.parts)


def _fields(card: dict) -> dict:
    return {k: v for k, v in card.items() if k not in ("id", "type")}


def _targets(node: dict) -> list[str]:
    out = [node.get("next")]
    out += _list(node.get("transitions"))
    for _, card in _dicts(node.get("cards")):
        out += list(card_transitions(card).values())
    return [target for target in out if isinstance(target, str)]


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components that hold a cycle (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph[nxt])))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(component)
    return found


# ---- applying a fix --------------------------------------------------------------------------

class PatchFailed(ValueError):
    pass


def apply_patch(doc, patch: list[dict]):
    """A copy of `doc` with the JSON Patch operations applied (add, remove, replace, test:
    what fixes use); PatchFailed when a test fails or a path is missing."""
    out = copy.deepcopy(doc)
    for op in patch:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = out
        for part in parts[:-1]:
            parent = _step(parent, part, op)
        last = parts[-1]
        kind = op["op"]
        if kind == "test":
            if _step(parent, last, op) != op["value"]:
                raise PatchFailed(f"{op['path']} changed since the check")
        elif kind == "remove":
            _step(parent, last, op)
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                del parent[last]
        elif kind in ("replace", "add"):
            if isinstance(parent, list):
                if kind == "add":
                    parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(op["value"]))
                else:
                    _step(parent, last, op)
                    parent[int(last)] = copy.deepcopy(op["value"])
            else:
                if kind == "replace":
                    _step(parent, last, op)
                parent[last] = copy.deepcopy(op["value"])
        else:
            raise PatchFailed(f"unsupported operation {kind!r}")
    return out


def _step(container, part: str, op: dict):
    try:
        return container[int(part)] if isinstance(container, list) else container[part]
    except (KeyError, IndexError, ValueError, TypeError):
        raise PatchFailed(f"{op['path']}: no such place in the bot file") from None
