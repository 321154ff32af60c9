"""SQL expressions that each back end spells its own way, for insert-selects that build rows in
the database rather than in Python."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Integer, cast, extract, func, literal


def json_object(dialect: str, **values: ColumnElement) -> ColumnElement:
    """A JSON object of these keys and SQL values (PostgreSQL's json_build_object, SQLite's
    json_object)."""
    pairs = [part for key, value in values.items() for part in (literal(key), value)]
    build = func.json_build_object if dialect == "postgresql" else func.json_object
    return build(*pairs)


def epoch_seconds(dialect: str, moment: ColumnElement) -> ColumnElement:
    """A timestamp column as whole seconds since 1970 (Unix time), as an integer."""
    if dialect == "postgresql":
        return cast(func.floor(extract("epoch", moment)), Integer)
    return cast(func.strftime("%s", moment), Integer)  # SQLite keeps UTC text
