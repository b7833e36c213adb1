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


# Letters and digits of any script, and the punctuation that ordinary file names use. A quote, a backslash,
# a control character or a newline can never reach the SQL text.
_SAFE_PATH = re.compile(r"[\w./ +=:@,~%-]+")


def quote_path(path: Path | str) -> str:
    """A path as a single-quoted SQL string literal, for the places (view bodies) where binding is impossible."""
    text = str(path)
    if not _SAFE_PATH.fullmatch(text):
        raise BadArgument(f"unsupported characters in path {text!r}; use letters, digits and ./_-+=:@,~% only")
    return "'" + text.replace("'", "''") + "'"


def with_path_literals(sql: str, **paths: Path | str) -> str:
    """``sql`` with each ``$name`` placeholder replaced by ``quote_path(paths[name])``."""
    for name, path in paths.items():
        sql = re.sub(rf"\${re.escape(name)}\b", lambda _match, p=path: quote_path(p), sql)
    return sql
