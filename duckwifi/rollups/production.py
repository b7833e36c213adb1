"""Producing one source's rollups from its Parquet files, inside the converter's unit of work.

``stage_source`` runs in the converter's in-memory reader connection, right after the lake files are staged
and before the ledger records the source: it reads the staged Parquet (from the page cache, projected to
the columns each table needs) and writes the three unit files into a fresh unit folder of the store. The same
function rebuilds a unit from published lake files (``duckwifi rollup --rebuild``), so rebuilt rollups are
byte-for-byte the answers converted ones give.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb

from duckwifi import queries
from duckwifi.rollups.store import TABLES, Unit, complete_tables, partial_table_path, write_unit_info


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The bucket and map-cell functions and the state_regions table the rollup statements need (idempotent)."""
    con.execute(queries.load("rollups/create_rollup_macros.sql"))
    con.execute(queries.load("rollups/create_sketch_macros.sql"))
    con.execute(queries.load("reference/state_regions.sql"))


def stage_source(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    unit_dir: Path,
    *,
    source: str,
    sha256: str,
) -> Unit | None:
    """Write the rollups of one source's Parquet ``files`` (Hive paths, staged or published) to ``unit_dir``.

    ``unit_dir`` is a fresh folder from ``store.new_unit_dir``; the unit is invisible to readers until
    ``store.publish`` lists it in the manifest.

    Returns None for a source without rows (nothing to publish; its older unit, if any, is removed).
    """
    if not files:
        # A source with a header and no rows has no lake files and no rollups.
        return None
    shutil.rmtree(unit_dir, ignore_errors=True)
    unit_dir.mkdir(parents=True)
    install_macros(con)
    paths = [str(f) for f in files]
    row = con.execute(queries.load("rollups/get_parquet_metadata_cache.sql")).fetchone()
    cached_before = bool(row[0]) if row is not None else False
    # The statements scan every file 23 times: parse each footer once (the connection is the caller's, so
    # its setting is put back).
    con.execute(queries.load("rollups/set_parquet_metadata_cache.sql"), {"enabled": True})
    try:
        for table in TABLES:
            con.execute(
                queries.load(f"rollups/write_{table}.sql"),
                {"files": paths, "target": str(partial_table_path(unit_dir, table))},
            )
    finally:
        con.execute(queries.load("rollups/set_parquet_metadata_cache.sql"), {"enabled": cached_before})
    complete_tables(unit_dir)
    row = con.execute(queries.load("rollups/describe_unit.sql"), {"stats": str(unit_dir / "stats.parquet")}).fetchone()
    rows, hours = (int(row[0]), tuple(row[1])) if row is not None else (0, ())
    unit = Unit(unit_dir.name, source, sha256, rows, hours)
    write_unit_info(unit_dir, unit)
    return unit
