"""Field types shared by card configs: text templates and JavaScript expressions are
checked when the bot is validated, so a broken `{{` is reported with its card's path
instead of failing mid-conversation."""
from typing import Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema

from ..expressions import ExpressionError, compile_expression
from ..sandbox import syntax_error
from ..templates import compile_json_template, compile_template

NODE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


def _check_template(value: str) -> str:
    try:
        compile_template(value)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    return value


def _check_expression(value: str) -> str:
    try:
        expression = compile_expression(value)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    # What the Python fast path cannot parse goes to V8 at run time: check its syntax now.
    if not expression.is_fast and (problem := syntax_error(value, expression=True)):
        raise ValueError(problem)
    return value


def _check_json_template(value: Any) -> Any:
    try:
        compile_json_template(value)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    return value


def _check_object_template(value: Any) -> Any:
    # An object whose strings are templates, or one template that must give an object.
    if not isinstance(value, (dict, str)):
        raise ValueError("must be an object, or a template such as '{{event.payload}}' that gives one")
    return _check_json_template(value)


def expression_problem(source: str) -> str | None:
    """Why `source` is not a usable JavaScript expression, or None (trigger conditions)."""
    if not isinstance(source, str) or not source.strip():
        return "must be a JavaScript expression, not empty"
    try:
        _check_expression(source)
    except ValueError as exc:
        return str(exc)
    return None


def _check_code(value: str) -> str:
    if value.strip() and (problem := syntax_error(value)):
        raise ValueError(problem)
    return value


TemplateStr = Annotated[str, AfterValidator(_check_template)]
RequiredTemplate = Annotated[str, Field(min_length=1), AfterValidator(_check_template)]
ExpressionStr = Annotated[str, Field(min_length=1), AfterValidator(_check_expression)]
CodeStr = Annotated[str, Field(max_length=100_000), AfterValidator(_check_code)]
# JSON whose strings are templates (see templates.JsonTemplate).
# Typed Any so the one validator gives one plain message instead of a union's two.
ObjectTemplate = Annotated[Any, AfterValidator(_check_object_template), WithJsonSchema({
    "type": ["object", "string"],
    "description": "an object whose strings are templates, or one template that gives an object",
})]
NodeRef = Annotated[str | None, Field(default=None, pattern=NODE_ID_PATTERN)]
