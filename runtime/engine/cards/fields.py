"""Field types shared by card configs: text templates and JavaScript expressions are
checked when the bot is validated, so a broken `{{` is reported with its card's path
instead of failing mid-conversation."""
from typing import Annotated

from pydantic import AfterValidator, Field

from ..expressions import ExpressionError, compile_expression
from ..templates import compile_template

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
        compile_expression(value)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    return value


TemplateStr = Annotated[str, AfterValidator(_check_template)]
RequiredTemplate = Annotated[str, Field(min_length=1), AfterValidator(_check_template)]
ExpressionStr = Annotated[str, Field(min_length=1), AfterValidator(_check_expression)]
NodeRef = Annotated[str | None, Field(default=None, pattern=NODE_ID_PATTERN)]
