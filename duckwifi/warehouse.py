"""The warehouse folder: where it is, its locks, its DuckDB connections and what it records.

Two DuckDB files, because DuckDB lets one process write a file or many read it, never both:

- ``state.duckdb`` is the pipeline's own state (devices table, clock, hours written, the conversions ledger).
  Only duckwifi opens it, for short write transactions; the heavy work runs in separate in-memory DuckDB
  connections, so a crash mid-COPY cannot damage it.
- ``warehouse.duckdb`` is the readers' database: views only (see :mod:`duckwifi.readers`). The pipeline never
  opens it; it writes a new one and renames it into place when a view changes, so a notebook holding it open
  never stops a tick or a convert.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import math
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from duckwifi import queries
from duckwifi.errors import (
    BadArgument,
    DuckwifiError,
    WarehouseBusy,
    WarehouseCorrupt,
    WarehouseMissing,
    is_lock_conflict,
    translate,
)
from duckwifi.fsutil import ensure_folder

# The readers' database: views only, replaced by rename when a view changes (never written in place).
DATABASE_NAME = "warehouse.duckdb"
# The pipeline's own state (clock, hours, ledger): only duckwifi opens it, for short write transactions.
STATE_NAME = "state.duckdb"
DEVICES_NAME = "devices.parquet"
SPILL_NAME = "tmp"
# The serving store (issue 12): immutable Parquet files per source and a manifest readers follow.
ROLLUPS_NAME = "rollups"
# Rows set aside by `convert --max-bad-rows` (issue 9), outside the lake.
REJECTS_NAME = "rejects"
# Where the warehouse's one lake is, for readers that must not open state.duckdb (written by rename).
LAKE_INFO_NAME = "lake.json"
# The generator's seed, fleet size and profile, for readers that derive the incident log (written by rename).
GENERATOR_INFO_NAME = "generator.json"

DAMAGED_HINT = (
    "it looks damaged: restore it from a backup, or run `duckwifi init --force`, which sets it aside and starts over"
)
# How long to wait for another process's brief hold on warehouse.duckdb before answering "busy".
DEFAULT_OPEN_TIMEOUT_S = 15.0
# Keeps peak memory bounded on a 2-core, 24 GB laptop; DuckDB spills the rest to <warehouse>/tmp.
DEFAULT_MEMORY_LIMIT = "2GB"
# DuckDB cannot even start with a few kilobytes and would say so as if the warehouse were damaged; a floor
# this high catches a typo such as 2KB before any connection is opened.
MIN_MEMORY_LIMIT_BYTES = 100_000_000
# DuckDB's own grammar for a memory size (case-insensitive, spaces allowed around the number): a decimal number
# and a unit, or a share of memory. Sizes below MIN_MEMORY_LIMIT_BYTES and DuckDB's "no limit" values (-1,
# none) are refused: the limit is what makes the heavy work spill to <warehouse>/tmp instead of failing.
_SIZE = re.compile(r"\s*(?P<number>\d+\.?\d*|\.\d+)\s*(?P<unit>[a-z%]+)\s*", re.IGNORECASE)
_DECIMAL_UNITS = {"k": "kilobyte", "m": "megabyte", "g": "gigabyte", "t": "terabyte"}
_SIZE_UNITS: dict[str, int] = {"b": 1, "byte": 1, "bytes": 1} | {
    name: factor
    for power, (letter, word) in enumerate(_DECIMAL_UNITS.items(), start=1)
    for name, factor in (
        (letter, 1000**power),
        (f"{letter}b", 1000**power),
        (word, 1000**power),
        (f"{word}s", 1000**power),
        (f"{letter}ib", 1024**power),
    )
}


def memory_limit(default: str = DEFAULT_MEMORY_LIMIT) -> str:
    """DUCKWIFI_MEMORY_LIMIT, checked here: DuckDB would reject a bad value with an error that looks like damage."""
    value = os.environ.get("DUCKWIFI_MEMORY_LIMIT", default).strip()
    size = _SIZE.fullmatch(value)
    if size is None or not _is_usable_memory(float(size["number"]), size["unit"].lower()):
        raise BadArgument(
            f"DUCKWIFI_MEMORY_LIMIT must be a size of at least 100MB (such as 2GB, 2G or 500MiB) or a share of "
            f"memory (such as 50%), not {value!r}"
        )
    return value


def _is_usable_memory(number: float, unit: str) -> bool:
    if unit == "%":
        return 0 < number <= 100
    return unit in _SIZE_UNITS and number * _SIZE_UNITS[unit] >= MIN_MEMORY_LIMIT_BYTES


def open_timeout_s() -> float:
    """DUCKWIFI_OPEN_TIMEOUT in seconds, checked."""
    raw = os.environ.get("DUCKWIFI_OPEN_TIMEOUT", str(DEFAULT_OPEN_TIMEOUT_S))
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value < math.inf:
        raise BadArgument(f"DUCKWIFI_OPEN_TIMEOUT must be a number of seconds, 0 or more, not {raw!r}")
    return value


@dataclass(frozen=True)
class Warehouse:
    root: Path

    @property
    def database(self) -> Path:
        """The readers' database (views only)."""
        return self.root / DATABASE_NAME

    @property
    def state_database(self) -> Path:
        return self.root / STATE_NAME

    @property
    def rollups_dir(self) -> Path:
        return self.root / ROLLUPS_NAME

    @property
    def rejects_dir(self) -> Path:
        return self.root / REJECTS_NAME

    @property
    def lake_info(self) -> Path:
        return self.root / LAKE_INFO_NAME

    @property
    def generator_info(self) -> Path:
        return self.root / GENERATOR_INFO_NAME

    @property
    def devices_parquet(self) -> Path:
        return self.root / DEVICES_NAME

    @property
    def spill_dir(self) -> Path:
        return self.root / SPILL_NAME

    def exists(self) -> bool:
        return self.state_database.is_file() or _legacy_candidate(self)

    def ensure_folder(self) -> None:
        ensure_folder(self.root, "warehouse folder")


@contextlib.contextmanager
def exclusive(warehouse: Warehouse, job: str) -> Iterator[None]:
    """Hold the warehouse's lock for one kind of job ("tick" or "convert") for the whole run, or raise busy.

    Separate locks let a tick and a convert run side by side; two of the same kind never do. The kernel
    drops the lock when the process dies, so a kill -9 never leaves the warehouse locked.
    """
    warehouse.ensure_folder()
    lock_path = warehouse.root / f"{job}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseBusy(
                f"warehouse busy: another duckwifi {job} is running on {warehouse.root}; try again when it ends"
            ) from None
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def connect(
    warehouse: Warehouse,
    *,
    create: bool = False,
    read_only: bool = False,
    timeout_s: float | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open ``state.duckdb`` for a short piece of work, waiting out another duckwifi process's brief hold."""
    timeout_s = open_timeout_s() if timeout_s is None else timeout_s
    if not warehouse.exists() and not create:
        raise WarehouseMissing.at(warehouse.root)
    if create:
        warehouse.ensure_folder()
    database = _state_file(warehouse, create=create)
    con = _open(database, read_only=read_only, timeout_s=timeout_s)
    try:
        _refuse_truncated(con, database)
        if not read_only:
            con.execute(queries.load("warehouse/create_schema.sql"))
        elif con.execute(queries.load("warehouse/count_own_tables.sql")).fetchone() != (_OWN_TABLES,):
            raise WarehouseMissing(
                f"{database} is not a duckwifi warehouse yet; run `duckwifi init` (or `duckwifi tick`)"
            )
        elif not _current_columns() <= set(con.execute(queries.load("warehouse/list_own_columns.sql")).fetchall()):
            # Made by an older duckwifi: a read would miss columns added since, so bring the tables up to date
            # once (a short write, as any writer's open does), then read.
            con.close()
            with connect(warehouse, timeout_s=timeout_s):
                pass
            con = _open(database, read_only=True, timeout_s=timeout_s)
        yield con
    finally:
        con.close()


def _open(database: Path, *, read_only: bool, timeout_s: float) -> duckdb.DuckDBPyConnection:
    """Connect to ``database``, waiting up to ``timeout_s`` for another process's hold to end."""
    config = {"memory_limit": memory_limit()}
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return duckdb.connect(str(database), read_only=read_only, config=config)
        except duckdb.Error as error:
            if is_lock_conflict(error) and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            if is_lock_conflict(error):
                raise WarehouseBusy(
                    f"warehouse busy: {database} is held by another process; try again shortly"
                ) from None
            translated = translate(error, target=str(database))
            if type(translated) is DuckwifiError:
                raise WarehouseCorrupt(
                    f"cannot open {database} ({str(error).strip().splitlines()[0]}); {DAMAGED_HINT}"
                ) from None
            raise translated from None


@functools.cache
def _current_columns() -> frozenset[tuple[str, str]]:
    """Every (table, column) of the bookkeeping tables this duckwifi makes."""
    with duckdb.connect() as con:
        con.execute(queries.load("warehouse/create_schema.sql"))
        return frozenset(con.execute(queries.load("warehouse/list_own_columns.sql")).fetchall())


# generator, hours, conversions, rejections: see sql/warehouse/create_schema.sql.
_OWN_TABLES = 4
# A DuckDB file opens with a main header and two database headers of 4 KiB each, then its blocks.
_DUCKDB_FILE_HEADERS_BYTES = 3 * 4096


def _refuse_truncated(con: duckdb.DuckDBPyConnection, database: Path) -> None:
    """Refuse a warehouse file too short to hold the blocks in use (checked while no WAL is pending).

    Free blocks may lie past the end of the file, so only used blocks count: a weaker test that never
    condemns a healthy file."""
    if database.with_name(database.name + ".wal").exists():
        return
    row = con.execute(queries.load("warehouse/database_size.sql")).fetchone()
    if row is None:
        return
    used_blocks, block_size = row
    expected = _DUCKDB_FILE_HEADERS_BYTES + int(used_blocks) * int(block_size)
    actual = database.stat().st_size
    if actual < expected:
        raise WarehouseCorrupt(f"{database} is truncated ({actual:,} of {expected:,} bytes); {DAMAGED_HINT}")


def work_connection(
    warehouse: Warehouse,
    *,
    preserve_insertion_order: bool = True,
    settings: Mapping[str, str | bool | int] | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for the heavy lifting, with bounded memory and spilling beside the warehouse."""
    limit = memory_limit()
    warehouse.spill_dir.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int] = {
        "memory_limit": limit,
        "temp_directory": str(warehouse.spill_dir),
        "preserve_insertion_order": preserve_insertion_order,
        **(settings or {}),
    }
    con = duckdb.connect(":memory:", config=config)
    con.execute(queries.load("warehouse/disable_progress_bar.sql"))
    return con


@dataclass(frozen=True)
class GeneratorState:
    seed: int
    devices: int
    start_hour: datetime
    next_hour: datetime
    devices_parquet_bytes: int
    hours_written: int
    profile: str = "uniform"


def read_generator_state(con: duckdb.DuckDBPyConnection) -> GeneratorState | None:
    try:
        row = con.execute(queries.load("warehouse/read_generator.sql")).fetchone()
    except duckdb.BinderException:
        # No profile column: a warehouse from before profiles, opened read-only (so not yet migrated).
        row = con.execute(queries.load("warehouse/read_generator_before_profiles.sql")).fetchone()
    return None if row is None else GeneratorState(*row)


@dataclass(frozen=True)
class Rejection:
    lake: str
    source: str
    line: int | None
    reason: str


@dataclass(frozen=True)
class HoursWritten:
    """What tick has written, from the hours table."""

    hours: int
    rows: int
    bytes: int
    last_path: str | None


@dataclass(frozen=True)
class CataloguedMetric:
    column_name: str
    name: str
    unit: str
    family: str
    lower: float
    upper: float
    decimals: int


@dataclass(frozen=True)
class Status:
    root: Path
    generator: GeneratorState | None
    converted_files: int
    converted_rows: int
    rejections: list[Rejection]
    written: HoursWritten = HoursWritten(0, 0, 0, None)
    metrics: list[CataloguedMetric] = field(default_factory=list)


def read_status(warehouse: Warehouse) -> Status:
    with connect(warehouse, read_only=True) as con:
        generator = read_generator_state(con)
        converted = con.execute(queries.load("warehouse/count_conversions.sql")).fetchone()
        rejections = [Rejection(*row) for row in con.execute(queries.load("warehouse/list_rejections.sql")).fetchall()]
        written = con.execute(queries.load("warehouse/summarize_hours.sql")).fetchone()
        metrics = read_metric_catalogue(con)
    files, rows = converted if converted is not None else (0, 0)
    # A rejection is listed until a fixed version converts, or until its file is gone: nothing is left to fix.
    rejections = [rejection for rejection in rejections if _still_there(Path(rejection.source))]
    hours = HoursWritten(*written) if written is not None else HoursWritten(0, 0, 0, None)
    return Status(warehouse.root, generator, int(files), int(rows or 0), rejections, hours, metrics)


def _still_there(source: Path) -> bool:
    """The rejected file, or a broken link in its place (rejected for being one), is still in the folder."""
    return source.exists() or source.is_symlink()


def read_metric_catalogue(con: duckdb.DuckDBPyConnection) -> list[CataloguedMetric]:
    """The warehouse's metric catalogue; empty for a warehouse made before catalogues existed."""
    try:
        rows = con.execute(queries.load("warehouse/list_metric_catalogue.sql")).fetchall()
    except duckdb.CatalogException:
        return []
    return [CataloguedMetric(*row) for row in rows]


def set_aside_damaged(warehouse: Warehouse) -> Path:
    """Rename a damaged ``state.duckdb`` (and its WAL) out of the way, keeping it for inspection."""
    database = _state_file(warehouse, create=False)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = database.with_name(f"{database.name}.damaged-{stamp}")
    os.replace(database, aside)
    wal = database.with_name(database.name + ".wal")
    if wal.exists():
        os.replace(wal, aside.with_name(aside.name + ".wal"))
    return aside


# Written beside warehouse.duckdb by duckwifi.readers: the definition the readers' database was built from.
READERS_STAMP_NAME = ".warehouse.duckdb.definition"


def _legacy_candidate(warehouse: Warehouse) -> bool:
    """True when warehouse.duckdb may be a warehouse made before state.duckdb existed (it held the state)."""
    return (
        not warehouse.state_database.exists()
        and warehouse.database.is_file()
        and not (warehouse.root / READERS_STAMP_NAME).exists()
    )


def _state_file(warehouse: Warehouse, *, create: bool) -> Path:
    """The file that holds the pipeline's state, adopting a legacy warehouse.duckdb as state.duckdb once.

    A legacy file is moved only when it holds duckwifi's tables; a damaged one stays where it is, so the
    error names it and ``init --force`` sets it aside; any other DuckDB file is left for the readers'
    refresh to set aside, and a new state.duckdb is created beside it."""
    if not _legacy_candidate(warehouse):
        return warehouse.state_database
    fd = os.open(warehouse.root / "state.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if not _legacy_candidate(warehouse):
            return warehouse.state_database
        try:
            with duckdb.connect(str(warehouse.database), read_only=True) as con:
                ours = con.execute(queries.load("warehouse/count_own_tables.sql")).fetchone() == (_OWN_TABLES,)
        except duckdb.Error:
            return warehouse.database
        if not ours:
            return warehouse.state_database if create else warehouse.database
        wal = warehouse.database.with_name(DATABASE_NAME + ".wal")
        if wal.exists():
            os.replace(wal, warehouse.state_database.with_name(STATE_NAME + ".wal"))
        os.replace(warehouse.database, warehouse.state_database)
        return warehouse.state_database
    finally:
        os.close(fd)


LAKE_INFO_FORMAT = 1


def registered_lake(warehouse: Warehouse) -> Path | None:
    """The warehouse's lake as recorded in ``lake.json``, or None before the first convert.

    Readers (the readers' database, serve) find the lake here without opening state.duckdb."""
    try:
        info = json.loads(warehouse.lake_info.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise WarehouseCorrupt(f"cannot read {warehouse.lake_info}: {error}; run convert again to rewrite it") from None
    lake = info.get("lake") if isinstance(info, dict) else None
    if not isinstance(lake, str):
        raise WarehouseCorrupt(f"{warehouse.lake_info} names no lake; run convert again to rewrite it")
    return Path(lake)
