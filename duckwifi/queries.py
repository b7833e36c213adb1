"""Loads the statements in ``sql/`` and quotes the few paths that DuckDB cannot take as bind parameters."""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

from duckwifi.errors import BadArgument

# In a wheel the top-level sql/ folder is shipped as duckwifi/sql; in a source checkout it sits beside the package.
_SOURCE_TREE_SQL = Path(__file__).resolve().parent.parent / "sql"


@functools.cache
def load(name: str) -> str:
    """The text of ``sql/<name>``, e.g. ``load("generator/write_hour.sql")``."""
    packaged = resources.files("duckwifi").joinpath("sql", *name.split("/"))
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (_SOURCE_TREE_SQL / name).read_text(encoding="utf-8")


# Characters DuckDB's file globbing reads as patterns (a `[` starts a class, a backslash escapes), so a path
# holding one cannot name itself in read_parquet or read_csv. Quoting is no help there: callers refuse such a
# path up front, before any work (see refuse_glob_characters).
GLOB_CHARACTERS = frozenset("*?[]\\")


def quote_path(path: Path | str) -> str:
    """A path as a single-quoted SQL string literal, for the places (view bodies) where binding is impossible.

    A standard SQL literal has one escape, a doubled quote, so every path survives (parentheses, &, #, $ and
    quotes included); only NUL, which no path can hold, is refused."""
    text = str(path)
    if "\x00" in text:
        raise BadArgument(f"path {text!r} holds a NUL character")
    return "'" + text.replace("'", "''") + "'"


def refuse_glob_characters(path: Path | str, role: str) -> None:
    """Refuse a path DuckDB would read as a glob pattern rather than as itself."""
    found = sorted(set(str(path)) & GLOB_CHARACTERS)
    if found:
        raise BadArgument(
            f"{role} {path} holds {' '.join(found)}, which DuckDB reads as a file pattern; rename or move it"
        )


def with_path_literals(sql: str, **paths: Path | str) -> str:
    """``sql`` with each ``$name`` placeholder replaced by ``quote_path(paths[name])``."""
    for name, path in paths.items():
        sql = re.sub(rf"\${re.escape(name)}\b", lambda _match, p=path: quote_path(p), sql)
    return sql
