"""``duckwifi tick``: write the next hours of telemetry as CSV files, each exactly once.

Per hour: COPY to a hidden temporary name, fsync, rename to the final name, then advance the clock in the
warehouse. A kill before the rename leaves only a temporary file (removed by the next run); a kill after the
rename but before the clock moves makes the next run write the same hour again, byte for byte identical, over
the same name. Either way every hour exists once and the clock never skips.

Staging (the COPY to the temporary name, and its fsync) runs wherever the tick's stager runs it: here, or on
Dask workers (duckwifi.distributed). Publishing (the check against a file already there, the rename, then the
clock) always runs in the process holding the "tick" lock, strictly in hour order.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from duckwifi import queries
from duckwifi.contract import DATETIME_FORMAT, HOUR_FILE_NAME, LAST_HOUR, hour_file_name
from duckwifi.errors import (
    BadArgument,
    ClockExhausted,
    DevicesCorrupt,
    DuckwifiError,
    OutputInTheWay,
    WarehouseMissing,
    printable,
    translate,
)
from duckwifi.fsutil import ensure_folder, fsync_dir, fsync_file, remove_temps, temp_path_for
from duckwifi.generator import realistic
from duckwifi.warehouse import (
    GeneratorState,
    Warehouse,
    connect,
    read_generator_state,
    registered_lake,
    work_connection,
)

MAX_HOURS = 24 * 366
# The clock names the next hour to write, so writing LAST_HOUR, the last hour the lake's date folders can
# tell apart, leaves it one hour past.
LAST_CLOCK_HOUR = LAST_HOUR + timedelta(hours=1)


@dataclass(frozen=True)
class HourWritten:
    hour: datetime
    path: Path
    rows: int
    bytes: int


def prepare_out_dir(out_dir: Path) -> Path:
    out_dir = ensure_folder(out_dir, "--out folder")
    probe = out_dir / f".duckwifi-write-probe-{id(out_dir)}"
    try:
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise translate(error, target=str(out_dir)) from None
    return out_dir


def current_state(warehouse: Warehouse) -> GeneratorState:
    with connect(warehouse, read_only=True) as con:
        state = read_generator_state(con)
    if state is None:
        raise WarehouseMissing(f"warehouse {warehouse.root} has no devices yet; run `duckwifi init` first")
    return state


def check_devices_parquet(warehouse: Warehouse, state: GeneratorState) -> None:
    """Refuse to generate from a devices file that is missing or not the one init wrote."""
    path = warehouse.devices_parquet
    hint = "restore it from a backup, or start over with `duckwifi init --force`"
    if not path.is_file():
        raise DevicesCorrupt(f"devices file {path} is missing; {hint}")
    size = path.stat().st_size
    if size != state.devices_parquet_bytes:
        raise DevicesCorrupt(
            f"devices file {path} is {size:,} bytes but init wrote {state.devices_parquet_bytes:,}; {hint}"
        )


def check_clock_room(state: GeneratorState, hours: int) -> None:
    """Refuse, before writing anything, hours past :data:`LAST_HOUR`, the last one that can be written."""
    if not isinstance(state.next_hour, datetime):
        # DuckDB hands over a timestamp beyond Python's datetime as text: a clock an older duckwifi left there.
        raise ClockExhausted(
            f"the clock is at {state.next_hour}, past {LAST_HOUR:{DATETIME_FORMAT}}, the last hour that can be "
            "written; no more hours can be written (start a new fleet with `duckwifi init --force`)"
        )
    room = (LAST_CLOCK_HOUR - state.next_hour) // timedelta(hours=1)
    if hours > room:
        raise ClockExhausted(
            f"--hours {hours} would go past {LAST_HOUR:{DATETIME_FORMAT}}, the last hour that can be written; "
            f"the clock is at {state.next_hour:{DATETIME_FORMAT}}, so {max(room, 0)} more hour(s) can be written"
        )


def check_names_free(out_dir: Path, first_hour: datetime) -> None:
    """Refuse, before writing anything, when ``out_dir`` holds a CSV of any later hour than the clock's.

    The clock's own hour may exist: a tick killed after its rename but before the clock moved left it, and it
    is rewritten byte for byte (see _write_one_hour, which checks that). A later hour's file cannot be this
    warehouse's (hours are published in order, each before the clock moves past it): another warehouse, or
    this one before `init --force`, wrote it, and this tick would come to it. Hour file names sort in hour
    order."""
    clock_name = hour_file_name(first_hour)
    later = sorted(e.name for e in os.scandir(out_dir) if _is_later_hour(e.name, clock_name))
    if later:
        raise OutputInTheWay(_in_the_way(out_dir / later[0]))


def _is_later_hour(name: str, clock_name: str) -> bool:
    """A CSV of a later hour than the clock's; or of any hour from the clock's on, gzipped: tick never writes
    one, and convert would read it beside the hour tick writes."""
    if name.endswith(".gz"):
        plain = name.removesuffix(".gz")
        return HOUR_FILE_NAME.fullmatch(plain) is not None and plain >= clock_name
    return HOUR_FILE_NAME.fullmatch(name) is not None and name > clock_name


def check_out_dir_for_a_new_fleet(out_dir: Path, first_hour: datetime) -> None:
    """Before a first tick makes its fleet: the --out folder, made if needed and writable, holds nothing in the
    way of the hours from ``first_hour`` on, that hour's own name included (no tick of this fleet can have
    left it)."""
    out_dir = prepare_out_dir(out_dir)
    check_names_free(out_dir, first_hour)
    clock_file = out_dir / hour_file_name(first_hour)
    if os.path.lexists(clock_file):
        raise OutputInTheWay(_in_the_way(clock_file))


def _in_the_way(final: Path) -> str:
    return (
        f"{printable(str(final))} already exists and was not written by this warehouse at this hour; "
        "move it away or choose another --out folder"
    )


def _is_this_hour(staged: Path, final: Path) -> bool:
    """Whether ``final`` is the very file just staged: the same hour from the same seed and devices is the
    same bytes, so a file left by a killed tick passes, and any other file (another fleet's, an edit) fails.
    Only reached after a crash or a clash, so reading both files costs nothing in a normal run."""
    if not final.is_file() or final.stat().st_size != staged.stat().st_size:
        return False
    return filecmp.cmp(staged, final, shallow=False)


@dataclass(frozen=True)
class StagedHour:
    """One hour's CSV written and fsynced under its hidden temporary name, not yet visible."""

    hour: datetime
    final: Path
    staged: Path
    rows: int


# Stages the given hours and yields them, in the order given, as each is ready. The local one runs them
# here, one after the other; duckwifi.distributed's runs them on Dask workers.
HourStager = Callable[[Sequence[datetime]], Iterator[StagedHour]]
HourStagerFactory = Callable[[GeneratorState, Path], contextlib.AbstractContextManager[HourStager]]


def check_hours(hours: int) -> None:
    if not 1 <= hours <= MAX_HOURS:
        raise BadArgument(f"--hours must be between 1 and {MAX_HOURS}, not {hours}")


def write_hours(
    warehouse: Warehouse,
    out_dir: Path,
    hours: int,
    on_hour: Callable[[HourWritten], None] | None = None,
    stage_hours: HourStagerFactory | None = None,
) -> list[HourWritten]:
    """Write ``hours`` consecutive hours from the clock on; the caller holds the "tick" lock.

    Staging (the COPY) runs wherever ``stage_hours`` runs it; publishing (rename, then the clock) always
    runs here, strictly in hour order, so the exactly-once argument of the module's docstring holds as is.
    """
    check_hours(hours)
    lake = registered_lake(warehouse)
    if lake is not None and (out_dir.resolve() == lake or lake in out_dir.resolve().parents):
        raise BadArgument(f"--out {out_dir} is inside the warehouse's lake {lake}; write CSVs to a folder of their own")
    out_dir = prepare_out_dir(out_dir)
    remove_temps(out_dir, HOUR_FILE_NAME)
    state = current_state(warehouse)
    check_clock_room(state, hours)
    check_devices_parquet(warehouse, state)
    check_names_free(out_dir, state.next_hour)
    wanted = [state.next_hour + timedelta(hours=offset) for offset in range(hours)]
    written: list[HourWritten] = []
    # The local stager removes its own temporary on any failure; a Dask stager sweeps the ones its workers
    # leave once they are stopped (distributed.hour_stager).
    with (stage_hours or stage_hours_here(warehouse))(state, out_dir) as stage:
        for staged in stage(wanted):
            result = publish_hour(warehouse, staged)
            written.append(result)
            if on_hour is not None:
                on_hour(result)
    return written


def stage_hours_here(warehouse: Warehouse) -> HourStagerFactory:
    """The local stager: one work connection, each hour staged in this process when its turn comes."""

    @contextlib.contextmanager
    def open_stager(state: GeneratorState, out_dir: Path) -> Iterator[HourStager]:
        with work_connection(warehouse) as work:

            def stage(wanted: Sequence[datetime]) -> Iterator[StagedHour]:
                if wanted:
                    prepare_hours(warehouse, work, state, wanted[0], wanted[-1] + timedelta(hours=1))
                for hour in wanted:
                    yield stage_hour(warehouse, work, state, hour, out_dir)

            yield stage

    return open_stager


def prepare_hours(
    warehouse: Warehouse,
    work: duckdb.DuckDBPyConnection,
    state: GeneratorState,
    first_hour: datetime,
    last_hour: datetime,
) -> None:
    """Set ``work`` up to stage the hours of [first_hour, last_hour) of the warehouse's profile; the local
    stager does it once per tick, and a Dask worker once per task, with the tick's whole range, so both stage
    the same bytes."""
    try:
        if state.profile == "realistic":
            # Plans the hours' incidents from the devices file: the first read of it in a tick.
            realistic.prepare(
                work,
                seed=state.seed,
                devices=state.devices,
                devices_parquet=str(warehouse.devices_parquet),
                first_hour=first_hour,
                last_hour=last_hour,
            )
        else:
            work.execute(queries.load("generator/create_metric_macro.sql"))
    except duckdb.Error as error:
        raise _hour_failure(work, warehouse, error, target=str(warehouse.devices_parquet)) from None


def stage_hour(
    warehouse: Warehouse,
    work: duckdb.DuckDBPyConnection,
    state: GeneratorState,
    hour: datetime,
    out_dir: Path,
) -> StagedHour:
    """Write one hour to its hidden temporary name and fsync it; run by the local path and by Dask workers.

    ``work`` must have been set up by :func:`prepare_hours`."""
    final = out_dir / hour_file_name(hour)
    staged = temp_path_for(final)
    try:
        if state.profile == "realistic":
            rows = realistic.write_hour(
                work, seed=state.seed, hour=hour, devices_parquet=str(warehouse.devices_parquet), target=str(staged)
            )
        else:
            copied = work.execute(
                queries.load("generator/write_hour.sql"),
                {
                    "seed": state.seed,
                    "hour": hour,
                    "devices_parquet": str(warehouse.devices_parquet),
                    "target": str(staged),
                },
            ).fetchone()
            rows = int(copied[0]) if copied is not None else 0
        fsync_file(staged)
    except BaseException as error:
        # BaseException: a Ctrl-C arrives as KeyboardInterrupt, and must not leave the temporary file behind.
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
        if not isinstance(error, Exception) or isinstance(error, DuckwifiError):
            raise
        raise _hour_failure(work, warehouse, error, target=str(final)) from None
    return StagedHour(hour=hour, final=final, staged=staged, rows=rows)


def publish_hour(warehouse: Warehouse, staged: StagedHour) -> HourWritten:
    """Make a staged hour visible (rename, fsync the folder), then advance the clock; always in the process
    holding the "tick" lock. A file already at the final name is replaced only if it is this very hour."""
    final = staged.final
    try:
        if os.path.lexists(final) and not _is_this_hour(staged.staged, final):
            raise OutputInTheWay(_in_the_way(final))
        os.replace(staged.staged, final)
        fsync_dir(final.parent)
    except BaseException as error:
        # BaseException: a Ctrl-C arrives as KeyboardInterrupt, and must not leave the temporary file behind.
        with contextlib.suppress(FileNotFoundError):
            staged.staged.unlink()
        if isinstance(error, OSError):
            raise translate(error, target=str(final)) from None
        raise
    result = HourWritten(hour=staged.hour, path=final, rows=staged.rows, bytes=final.stat().st_size)
    _advance_clock(warehouse, result)
    return result


def _hour_failure(
    work: duckdb.DuckDBPyConnection, warehouse: Warehouse, error: Exception, *, target: str
) -> DuckwifiError:
    """The error to report for a failed hour: a damaged devices file if that is what cannot be read."""
    translated = translate(error, target=target)
    if type(translated) is DuckwifiError and not _devices_readable(work, warehouse):
        return DevicesCorrupt(
            f"cannot read devices file {warehouse.devices_parquet}; "
            "restore it from a backup, or start over with `duckwifi init --force`"
        )
    return translated


def _devices_readable(work: duckdb.DuckDBPyConnection, warehouse: Warehouse) -> bool:
    """Whether every value of the devices file can be read: asked after an hour failed for no OS reason, to
    tell a damaged devices file (the hour's only input) from anything else."""
    try:
        work.execute(
            queries.load("generator/read_every_device.sql"), {"devices_parquet": str(warehouse.devices_parquet)}
        ).fetchall()
    except duckdb.Error:
        return False
    return True


def _advance_clock(warehouse: Warehouse, result: HourWritten) -> None:
    try:
        with connect(warehouse) as con:
            con.begin()
            con.execute(
                queries.load("warehouse/record_hour.sql"),
                {
                    "hour": result.hour,
                    "path": str(result.path),
                    "row_count": result.rows,
                    "byte_count": result.bytes,
                },
            )
            con.execute(queries.load("warehouse/advance_clock.sql"), {"hour": result.hour})
            con.commit()
    except DuckwifiError:
        raise
    except Exception as error:
        raise translate(error, target=str(warehouse.state_database)) from None
