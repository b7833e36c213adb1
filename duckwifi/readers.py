"""The readers' database, ``warehouse.duckdb``: views over the lake and the devices, for ad-hoc SQL.

DuckDB lets one process write a database file or many read it, never both. So the pipeline never opens this
file: when a view's definition changes (the first convert, a moved lake or warehouse, a duckwifi upgrade) it
builds a new file under a hidden name and renames it into place. A reader that has the old file open keeps
the old definitions until it reconnects; because the views glob the lake, it still sees every new hour.

What the file was built from is kept beside it (``.warehouse.duckdb.definition``), so an unchanged
definition costs one small read and no rebuild.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from duckwifi import queries
from duckwifi.converter.identity import holds_parquet, is_a_lake
from duckwifi.errors import DuckwifiError, LakeUnreadable, RollupsDamaged, WarehouseCorrupt, translate
from duckwifi.fsutil import publish, temp_path_for
from duckwifi.rollups.store import MANIFEST_NAME, read_manifest
from duckwifi.warehouse import READERS_STAMP_NAME, Warehouse, memory_limit, registered_lake


def view_statements(warehouse: Warehouse, lake: Path | None) -> list[str]:
    """The SQL that defines every view of the readers' database, paths spliced in as quoted literals."""
    statements = []
    devices = warehouse.devices_parquet.resolve()
    if devices.is_file():
        statements.append(
            queries.with_path_literals(queries.load("readers/create_devices_view.sql"), devices_parquet=devices)
        )
    # read_parquet refuses a glob that matches nothing: until the lake's first file (and after every source
    # is forgotten) telemetry is an empty view of the same columns. A lake folder that is gone (moved, an
    # unmounted disk) keeps its view, so that a query says no file is there rather than count none.
    if lake is not None and (holds_parquet(lake) or not lake.exists()):
        statements.append(queries.with_path_literals(queries.load("readers/create_telemetry_view.sql"), lake=lake))
    else:
        statements.append(queries.load("readers/create_empty_telemetry_view.sql"))
    statements.append(queries.load("readers/create_telemetry_between_macro.sql"))
    # The rollup views glob the units' files, so they too wait for the first unit the manifest lists. A
    # damaged manifest (`duckwifi check` names it) leaves them out rather than every view: telemetry still reads.
    rollups = warehouse.rollups_dir.resolve()
    if (rollups / MANIFEST_NAME).is_file() and _listed_units(warehouse):
        statements.append(queries.with_path_literals(queries.load("readers/create_rollup_views.sql"), rollups=rollups))
    return statements


def _listed_units(warehouse: Warehouse) -> bool:
    try:
        return bool(read_manifest(warehouse).units)
    except RollupsDamaged:
        return False


def refresh(warehouse: Warehouse, lake: Path | None = None) -> bool:
    """Rebuild ``warehouse.duckdb`` if its definition changed; returns True when it was replaced.

    ``lake`` defaults to the warehouse's registered lake (``lake.json``)."""
    lake = registered_lake(warehouse) if lake is None else lake
    statements = view_statements(warehouse, lake)
    definition = hashlib.sha256("\n".join(statements).encode()).hexdigest()
    stamp = warehouse.root / READERS_STAMP_NAME
    with _readers_lock(warehouse):
        _set_aside_orphan_wal(warehouse.database)
        if warehouse.database.is_file() and _read_stamp(stamp) == definition:
            return False
        try:
            _build(warehouse.database, statements)
            staged_stamp = temp_path_for(stamp)
            staged_stamp.write_text(definition + "\n", encoding="utf-8")
            publish(staged_stamp, stamp)
        except DuckwifiError:
            raise
        except (duckdb.Error, OSError) as error:
            raise translate(error, target=str(warehouse.database)) from None
    return True


def _read_stamp(stamp: Path) -> str | None:
    try:
        return stamp.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def _build(database: Path, statements: list[str]) -> None:
    staged = temp_path_for(database)
    staged_wal = staged.with_name(staged.name + ".wal")
    for leftover in (staged, staged_wal):
        leftover.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(staged), config={"memory_limit": memory_limit()}) as con:
            for statement in statements:
                con.execute(statement)
            con.execute("CHECKPOINT")
        _set_aside_stale_wal(database)
        _set_aside_foreign(database)
        publish(staged, database)
    finally:
        staged.unlink(missing_ok=True)
        staged_wal.unlink(missing_ok=True)


def _set_aside_stale_wal(database: Path) -> None:
    """Move a WAL left by a read-write reader of the old file out of the new file's way.

    DuckDB refuses to open a file beside a WAL that does not match it, so a WAL written for the old file
    would make the new one unreadable; its changes belonged to the file being replaced anyway."""
    wal = database.with_name(database.name + ".wal")
    if wal.exists():
        os.replace(wal, wal.with_name(f"{wal.name}.stale-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"))


def _set_aside_orphan_wal(database: Path) -> None:
    """A WAL whose writer died (kill -9 of a read-write notebook) would lock every new reader out.

    DuckDB holds a lock on the database file while a connection is open; if no process holds any, no writer
    is alive and the WAL beside the file is an orphan of a file duckwifi has since replaced, or of a crash."""
    wal = database.with_name(database.name + ".wal")
    if not wal.exists() or not database.is_file():
        return
    fd = os.open(database, os.O_RDWR)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # a reader or writer is alive: its WAL, if it is one, is its own business
        try:
            _set_aside_stale_wal(database)
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _set_aside_foreign(database: Path) -> None:
    """Keep a warehouse.duckdb that duckwifi did not build (no definition stamp beside it) instead of replacing it."""
    if database.is_file() and not database.with_name(READERS_STAMP_NAME).exists():
        os.replace(database, database.with_name(f"{database.name}.replaced-{time.strftime('%Y%m%dT%H%M%S')}"))


@contextlib.contextmanager
def _readers_lock(warehouse: Warehouse) -> Iterator[None]:
    """A tick and a convert may both refresh the views; one at a time, each for a few milliseconds."""
    fd = os.open(warehouse.root / "readers.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def reader_connection(warehouse: Warehouse) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the readers' views, without opening (or locking) any warehouse file."""
    # No replacement scans: a FROM that names no view must not read a Python variable of duckwifi's.
    lake = registered_lake(warehouse)
    # An empty folder there is not the lake: the mount point of a disk that is not mounted.
    if lake is not None and not is_a_lake(lake):
        raise LakeUnreadable.gone(lake)
    con = duckdb.connect(":memory:", config={"memory_limit": memory_limit(), "python_enable_replacements": False})
    try:
        for statement in view_statements(warehouse, lake):
            con.execute(statement)
    except duckdb.Error as error:
        con.close()
        translated = translate(error, target=str(warehouse.root))
        if type(translated) is DuckwifiError and isinstance(error, duckdb.InvalidInputException | duckdb.IOException):
            # A view reads a file's footer when it is defined: devices.parquet, or a lake file.
            raise WarehouseCorrupt(
                f"{translated}; that file looks damaged (`duckwifi check` lists damaged lake and rollup files)"
            ) from None
        raise translated from None
    return con
