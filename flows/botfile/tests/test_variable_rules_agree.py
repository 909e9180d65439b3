"""The validator says in its own words whether a default fits its type; the engine checks
every write at run time. Both must accept exactly the same values, or a bot file could be
accepted and then fail on its own defaults (or be refused for a value the engine takes)."""
import pytest
from jsonschema import Draft202012Validator

from flows.botfile.variables import variable_problems
from runtime.engine.variables import VarSpec, type_problem

SCHEMAS = {"Address": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
DECLS = [
    {"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "object"}, {"type": "array"},
    {"type": "date"}, {"type": "enum", "values": ["s", "m"]}, {"type": "pattern", "pattern": "[A-Z]{3}"},
    {"type": "schema", "schema": "Address"},
]
VALUES = ["s", "ABC", "ABCD", "", 0, 1.5, True, False, [], [1], {}, {"city": "Oslo"}, {"city": 7},
          "2026-11-21", "2026-11-21T10:00:00Z", "next week"]


@pytest.mark.parametrize("decl", DECLS, ids=lambda d: d["type"])
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_validator_and_engine_accept_the_same_defaults(decl, value):
    declaration = {"name": "v", **decl, "default": value}
    validator_ok = not [p for p in variable_problems(declaration, ["variables", 0], SCHEMAS)
                        if p.path.endswith(".default")]
    spec = VarSpec.from_decl(declaration, {"Address": Draft202012Validator(SCHEMAS["Address"])})
    engine_ok = type_problem(spec, value) is None
    assert validator_ok == engine_ok
