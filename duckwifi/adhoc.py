"""``duckwifi sql``: ad-hoc queries over the readers' views, with nothing that writes.

The query runs in an in-memory DuckDB that defines the same views as ``warehouse.duckdb`` (see
:mod:`duckwifi.readers`), so it opens no warehouse file at all: it can neither wait for the pipeline nor make
the pipeline wait, and a notebook holding ``warehouse.duckdb`` open does not stop it either.

Only queries run: SELECT (with DESCRIBE, SHOW, SUMMARIZE, FROM-first and VALUES, which DuckDB parses as
SELECT) and EXPLAIN of one. Anything else is refused before it runs: DDL, DML, COPY ... TO, ATTACH,
INSTALL/LOAD, SET, PRAGMA, CALL, EXPORT. Reading files (read_csv, read_parquet) stays allowed: the user runs
duckwifi on their own machine with their own rights.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

import duckdb

from duckwifi import readers
from duckwifi.errors import (
    BadArgument,
    DuckwifiError,
    RollupsDamaged,
    StatementRefused,
    first_line,
    is_interrupt,
    os_errno,
    translate,
)
from duckwifi.fsutil import published
from duckwifi.rollups.store import read_manifest, refuse_gone_units
from duckwifi.warehouse import Warehouse


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


_QUERY_TYPES = {duckdb.StatementType.SELECT}
_BATCH_ROWS = 10_000


def check_is_query(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but one query (or EXPLAIN of one); parse errors are usage errors."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as error:
        raise BadArgument(first_line(error)) from None
    if len(statements) != 1:
        raise BadArgument(f"give exactly one statement, not {len(statements)}")
    (statement,) = statements
    if statement.type == duckdb.StatementType.EXPLAIN:
        check_is_query(con, _explained(sql))
        return
    if statement.type == duckdb.StatementType.MULTI:
        # DuckDB runs a PIVOT whose values it must first look up as two statements, the first a CREATE TYPE.
        raise StatementRefused(
            "refused a statement that DuckDB runs as several (a PIVOT without its values does): "
            "list the values, as in PIVOT ... ON band IN (1, 2, 3)"
        )
    if statement.type not in _QUERY_TYPES:
        raise StatementRefused(
            f"refused a statement of kind {statement.type.name}: duckwifi sql runs queries only (SELECT, EXPLAIN)"
        )


def _explained(sql: str) -> str:
    """The statement an EXPLAIN explains: EXPLAIN ANALYZE runs it, so it must be a query itself.

    DuckDB's own tokenizer finds it, so comments and string literals cannot hide where it starts."""
    tokens = [(start, kind) for start, kind in duckdb.tokenize(sql) if kind != duckdb.token_type.comment]
    ends = [start for start, _ in tokens[1:]] + [len(sql)]
    texts = [sql[start:end].strip() for (start, _), end in zip(tokens, ends, strict=True)]
    position = 1  # past EXPLAIN
    if position < len(texts) and texts[position] == "(":
        depth = 0
        while position < len(texts):
            depth += {"(": 1, ")": -1}.get(texts[position], 0)
            position += 1
            if depth == 0:
                break
    elif position < len(texts) and texts[position].upper() in {"ANALYZE", "ANALYSE"}:
        position += 1
    if position >= len(tokens):
        raise BadArgument("EXPLAIN of nothing")
    return sql[tokens[position][0] :]


@dataclass(frozen=True)
class Query:
    """A checked query and the in-memory connection, holding the readers' views, that runs it."""

    con: duckdb.DuckDBPyConnection
    sql: str
    warehouse: Warehouse

    def close(self) -> None:
        self.con.close()

    def batches(self) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
        """The result's column names and its rows, a batch at a time."""
        relation = self.relation()
        return list(relation.columns), _in_batches(relation)

    def text_batches(self) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
        """As ``batches``, with every value as DuckDB's own text (``[1.5000]``, ``{'x': 2020-01-01}``,
        ``true``), not Python's repr of the objects DuckDB hands Python (``[Decimal('1.5000')]``)."""
        relation = self.relation()
        columns = list(relation.columns)
        # By position: result columns may share a name. Positions are integers, never the user's text.
        as_text = relation.project(", ".join(f"CAST(#{i} AS VARCHAR)" for i in range(1, len(columns) + 1)))
        return columns, _in_batches(as_text)

    def relation(self) -> duckdb.DuckDBPyRelation:
        try:
            return self.con.sql(self.sql)
        except duckdb.CatalogException as error:
            raise _unknown_name(self.sql, self.warehouse, error) from None
        except duckdb.Error as error:
            raise _query_error(error) from None


# The readers' views over the rollup store (readers/create_rollup_views.sql), made only while its manifest
# can be read.
ROLLUP_VIEWS = frozenset({"rollup_units", "rollup_stats", "rollup_sketch", "rollup_cells"})


def _names_rollup_views(sql: str) -> bool:
    """Whether the query names a rollup view: asked of an empty connection, since with the views in place DuckDB
    binds them to list the names."""
    try:
        with duckdb.connect(":memory:") as bare:
            # Identifiers are case-insensitive.
            named = {name.lower() for name in bare.get_table_names(sql, qualified=False)}
    except duckdb.Error:
        # The query's own error comes when it runs.
        return False
    return bool(named & ROLLUP_VIEWS)


def _refuse_gone_units(warehouse: Warehouse, sql: str) -> None:
    """The rollup views read the units the manifest lists: a query of them while one's folder is gone would leave
    it out in silence. Looked for first (a read of the manifest and a stat per unit), so that the query is
    parsed for the views' names only then: listing a query's names binds its table functions, which for a
    read_parquet of the whole lake reads every file's footer."""
    try:
        # (A manifest that cannot be read leaves no rollup views: the query's own error says so, _unknown_name.)
        refuse_gone_units(warehouse)
    except RollupsDamaged:
        if _names_rollup_views(sql):
            raise


def _unknown_name(sql: str, warehouse: Warehouse, error: duckdb.CatalogException) -> DuckwifiError:
    """A name the query uses does not exist: the user's to fix (exit 2), unless the query names a rollup view
    while the rollup store is damaged, which is why the view is missing: RollupsDamaged (exit 5), with its way
    out."""
    if _names_rollup_views(sql):
        try:
            read_manifest(warehouse)
        except RollupsDamaged as damage:
            return RollupsDamaged(f"{first_line(error)}; the rollup views are missing, since {damage}")
    return BadArgument(first_line(error))


def prepare_query(warehouse: Warehouse, sql: str) -> Query:
    """A checked query over the readers' views; the caller closes it."""
    con = readers.reader_connection(warehouse)
    try:
        check_is_query(con, sql)
        _refuse_gone_units(warehouse, sql)
    except BaseException:
        con.close()
        raise
    return Query(con, sql, warehouse)


def _in_batches(relation: duckdb.DuckDBPyRelation) -> Iterator[list[tuple[Any, ...]]]:
    """A relation's rows, run once, a batch at a time. The run starts here, so a query that fails fails before
    the caller writes anything (a header, an opening bracket); each failure is the query's error."""
    try:
        rows = relation.iter_rows(_BATCH_ROWS)
        first = list(itertools.islice(rows, _BATCH_ROWS))
    except duckdb.Error as error:
        raise _query_error(error) from None

    def batches() -> Iterator[list[tuple[Any, ...]]]:
        batch = first
        try:
            while batch:
                yield batch
                batch = list(itertools.islice(rows, _BATCH_ROWS))
        except duckdb.Error as error:
            raise _query_error(error) from None

    return batches()


def _query_error(error: duckdb.Error, target: str = "the query") -> DuckwifiError:
    """A failed query is the user's to fix (exit 2), unless the system failed under it (disk full, read-only,
    named after ``target``)."""
    if os_errno(error) is not None or is_interrupt(error):
        return translate(error, target=target)
    return BadArgument(first_line(error))


def render_table(query: Query) -> str:
    """DuckDB's own box rendering, as in its shell: wide results elide columns, long ones rows."""
    relation = query.relation()  # binding: its errors are translated there
    try:
        # Not redundant: the relation is lazy, and rendering it runs the query, which can fail only now
        # (a cast of a bad value, error()); without this the failure would be a traceback.
        text = str(relation)
    except duckdb.Error as error:
        raise _query_error(error) from None
    return text if text.endswith("\n") else text + "\n"


def _plain(value: Any) -> Any:
    """A value as JSON: exact decimals as numbers (their shortest round-trip text), times as ISO text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def write_csv(query: Query, out: TextIO) -> int:
    """The result as CSV with a header, values as DuckDB writes them; returns the rows written."""
    columns, batches = query.text_batches()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    rows = 0
    for batch in batches:
        writer.writerows(batch)
        rows += len(batch)
    return rows


def write_json(query: Query, out: TextIO) -> int:
    """The result as one JSON array of objects, streamed; returns the rows written."""
    columns, batches = query.batches()
    rows = 0
    out.write("[")
    for batch in batches:
        for row in batch:
            out.write(",\n" if rows else "\n")
            out.write(json.dumps({c: _plain(v) for c, v in zip(columns, row, strict=True)}))
            rows += 1
    out.write("\n]\n" if rows else "]\n")
    return rows


def write_parquet(query: Query, target: Path) -> None:
    """The result as a Parquet file, complete or not at all (temporary name, fsync, rename)."""
    if target.is_dir():
        raise BadArgument(f"--output {target} is a folder, not a file")
    try:
        with published(target) as staged:
            query.relation().write_parquet(str(staged), compression="zstd")
    except duckdb.Error as error:
        # Writing runs the query: its failure is the query's (exit 2), unless the file system failed.
        raise _query_error(error, target=str(target)) from None
