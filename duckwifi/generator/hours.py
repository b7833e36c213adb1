"""``duckwifi tick``: write the next hours of telemetry as CSV files, each exactly once.

Per hour: COPY to a hidden temporary name, fsync, rename to the final name, then advance the clock in the
warehouse. A kill before the rename leaves only a temporary file (removed by the next run); a kill after the
rename but before the clock moves makes the next run write the same hour again, byte for byte identical, over
the same name. Either way every hour exists once and the clock never skips.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from duckwifi import queries
from duckwifi.contract import hour_file_name
from duckwifi.errors import BadArgument, DevicesCorrupt, DuckwifiError, WarehouseMissing, translate
from duckwifi.fsutil import ensure_folder, fsync_dir, fsync_file, remove_stale_temps, temp_path_for
from duckwifi.warehouse import GeneratorState, Warehouse, connect, read_generator_state, work_connection

MAX_HOURS = 24 * 366


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


def write_hours(
    warehouse: Warehouse,
    out_dir: Path,
    hours: int,
    on_hour: Callable[[HourWritten], None] | None = None,
    stage_hours: Callable[[GeneratorState, Path], contextlib.AbstractContextManager[HourStager]] | None = None,
) -> list[HourWritten]:
    """Write ``hours`` consecutive hours from the clock on; the caller holds the "tick" lock.

    Staging (the COPY) runs wherever ``stage_hours`` runs it; publishing (rename, then the clock) always
    runs here, strictly in hour order, so the exactly-once argument of the module's docstring holds as is.
    """
    if not 1 <= hours <= MAX_HOURS:
        raise BadArgument(f"--hours must be between 1 and {MAX_HOURS}, not {hours}")
    out_dir = prepare_out_dir(out_dir)
    remove_stale_temps(out_dir)
    state = current_state(warehouse)
    check_devices_parquet(warehouse, state)
    wanted = [state.next_hour + timedelta(hours=offset) for offset in range(hours)]
    written: list[HourWritten] = []
    with (stage_hours or stage_hours_here(warehouse))(state, out_dir) as stage:
        for staged in stage(wanted):
            result = publish_hour(warehouse, staged)
            written.append(result)
            if on_hour is not None:
                on_hour(result)
    # A worker killed after writing a temporary file leaves it behind when its task is rerun elsewhere.
    remove_stale_temps(out_dir)
    return written


def stage_hours_here(
    warehouse: Warehouse,
) -> Callable[[GeneratorState, Path], contextlib.AbstractContextManager[HourStager]]:
    """The local stager: one work connection, each hour staged in this process when its turn comes."""

    @contextlib.contextmanager
    def open_stager(state: GeneratorState, out_dir: Path) -> Iterator[HourStager]:
        with work_connection(warehouse) as work:
            work.execute(queries.load("generator/create_metric_macro.sql"))

            def stage(wanted: Sequence[datetime]) -> Iterator[StagedHour]:
                for hour in wanted:
                    yield stage_hour(warehouse, work, state.seed, hour, out_dir)

            yield stage

    return open_stager


def stage_hour(
    warehouse: Warehouse,
    work: duckdb.DuckDBPyConnection,
    seed: int,
    hour: datetime,
    out_dir: Path,
) -> StagedHour:
    """Write one hour to its hidden temporary name and fsync it; run by the local path and by Dask workers.

    ``work`` must know the metric macros (generator/create_metric_macro.sql)."""
    final = out_dir / hour_file_name(hour)
    staged = temp_path_for(final)
    try:
        copied = work.execute(
            queries.load("generator/write_hour.sql"),
            {
                "seed": seed,
                "hour": hour,
                "devices_parquet": str(warehouse.devices_parquet),
                "target": str(staged),
            },
        ).fetchone()
        fsync_file(staged)
    except Exception as error:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
        if isinstance(error, DuckwifiError):
            raise
        message = str(error)
        if str(warehouse.devices_parquet) in message and not isinstance(error, OSError):
            raise DevicesCorrupt(
                f"cannot read devices file {warehouse.devices_parquet}: {message.strip().splitlines()[0]}; "
                "restore it from a backup, or start over with `duckwifi init --force`"
            ) from None
        raise translate(error, target=str(final)) from None
    rows = int(copied[0]) if copied is not None else 0
    return StagedHour(hour=hour, final=final, staged=staged, rows=rows)


def publish_hour(warehouse: Warehouse, staged: StagedHour) -> HourWritten:
    """Make a staged hour visible (rename, fsync the folder), then advance the clock; always on the client."""
    try:
        os.replace(staged.staged, staged.final)
        fsync_dir(staged.final.parent)
    except OSError as error:
        with contextlib.suppress(FileNotFoundError):
            staged.staged.unlink()
        raise translate(error, target=str(staged.final)) from None
    result = HourWritten(hour=staged.hour, path=staged.final, rows=staged.rows, bytes=staged.final.stat().st_size)
    _advance_clock(warehouse, result)
    return result


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
