"""Running a ``sql/`` file of several statements on a connection, each with the parameters it names."""

from __future__ import annotations

import functools
import re
from typing import Any

import duckdb

from duckwifi import queries


def execute_script(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> None:
    """Run each statement of ``sql/<name>`` with the parameters it names (DuckDB binds only one statement)."""
    for statement in statements(name):
        used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", statement)}
        con.execute(statement, used)


@functools.cache
def statements(name: str) -> tuple[str, ...]:
    # Statements in these files end with ";" at the end of a line, and no comment or string does.
    parts = re.split(r";[ \t]*\n", queries.load(name))
    bodies = (re.sub(r"--[^\n]*", "", p).strip() for p in parts)
    return tuple(b for b in bodies if b)
