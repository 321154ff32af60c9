"""A SCIM `filter` (RFC 7644 §3.4.2.2), parsed by scim2-filter-parser, made a SQL condition
over the columns a resource type maps its attributes to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser
from sqlalchemy import and_, false, func, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from handlers.scim.errors import InvalidFilter


@dataclass(frozen=True)
class Attribute:
    """An attribute's column; `case_exact` False compares without case; `value` turns the
    filter's text into the column's value (None: no row can match)."""

    column: Any
    case_exact: bool = True
    value: Callable[[str], Any] | None = None


def parse(text: str) -> ast.Filter:
    """The filter's syntax tree; InvalidFilter with where it broke."""
    try:
        return SCIMParser().parse(SCIMLexer().tokenize(text))
    except Exception as exc:  # the lexer and the parser raise their own kinds
        raise InvalidFilter(f"The filter {text!r} is not a SCIM filter: {exc}") from None


def condition(text: str, attributes: dict[str, Attribute]) -> ColumnElement[bool]:
    """The SQL condition of `text` over `attributes` (names compared without case, as SCIM
    names are)."""
    known = {name.lower(): a for name, a in attributes.items()}
    return _node(parse(text), known)


def _node(node: Any, known: dict[str, Attribute]) -> ColumnElement[bool]:
    if isinstance(node, ast.Filter):
        if node.namespace is not None:
            raise InvalidFilter("Filters on a multi-valued attribute's values are not supported.")
        inner = _node(node.expr, known)
        return not_(inner) if node.negated else inner
    if isinstance(node, ast.LogExpr):
        join = and_ if node.op.lower() == "and" else or_
        return join(_node(node.expr1, known), _node(node.expr2, known))
    if isinstance(node, ast.AttrExpr):
        return _comparison(node, known)
    raise InvalidFilter("That filter is not supported.")


def _name(path: ast.AttrPath) -> str:
    name = path.attr_name
    if path.uri:
        name = f"{path.uri}:{name}"
    sub = path.sub_attr
    if sub is not None:
        name = f"{name}.{sub.value}"
    return name


def _comparison(node: ast.AttrExpr, known: dict[str, Attribute]) -> ColumnElement[bool]:
    name = _name(node.attr_path)
    attribute = known.get(name.lower())
    if attribute is None:
        raise InvalidFilter(
            f"Filtering on {name} is not supported; filter on {', '.join(sorted(known))}."
        )
    op = node.value.lower()
    column = attribute.column
    if op == "pr":
        return column.is_not(None)
    raw = node.comp_value.value if node.comp_value is not None else None
    if not isinstance(raw, str):
        raise InvalidFilter(f'{name} is compared with a string, as in {name} eq "value".')
    value = attribute.value(raw) if attribute.value else raw
    if value is None:
        return false() if op != "ne" else true()
    if not attribute.case_exact:
        column, value = func.lower(column), value.lower()
    return _operator(op, column, value, name)


def _operator(op: str, column: Any, value: Any, name: str) -> ColumnElement[bool]:
    if op == "eq":
        return column == value
    if op == "ne":
        return column != value
    if isinstance(value, str) and op in ("co", "sw", "ew"):
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]
        return column.like(pattern, escape="\\")
    raise InvalidFilter(f"The operator {op} is not supported on {name}; use eq.")
