"""``duckwifi init``: sample a fleet of devices and record it, with a fresh clock, in the warehouse."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

import duckdb

from duckwifi import queries
from duckwifi.contract import FIRST_HOUR, LAST_HOUR
from duckwifi.errors import (
    BadArgument,
    DuckwifiError,
    WarehouseCorrupt,
    WarehouseExists,
    WarehouseMissing,
    translate,
)
from duckwifi.fsutil import publish, temp_path_for
from duckwifi.generator.catalogue import DEFAULT_PROFILE, PROFILES, catalogue_for
from duckwifi.generator.incidents import GeneratorInfo, write_generator_info
from duckwifi.warehouse import Warehouse, connect, read_generator_state, set_aside_damaged, work_connection

DEFAULT_DEVICES = 1_000_000
DEFAULT_SEED = 0
MAX_DEVICES = 100_000_000


@dataclass(frozen=True)
class Fleet:
    devices: int
    seed: int
    start_hour: datetime
    profile: str = DEFAULT_PROFILE


def validate_fleet(devices: int, seed: int, start_hour: datetime, profile: str = DEFAULT_PROFILE) -> None:
    if profile not in PROFILES:
        raise BadArgument(f"--profile must be one of {', '.join(PROFILES)}, not {profile!r}")
    if not 1 <= devices <= MAX_DEVICES:
        raise BadArgument(f"--devices must be between 1 and {MAX_DEVICES:,}, not {devices:,}")
    if not 0 <= seed < 2**63:
        raise BadArgument(f"--seed must be between 0 and 2**63-1, not {seed}")
    if start_hour != start_hour.replace(minute=0, second=0, microsecond=0):
        raise BadArgument(f"--start must fall on the hour, not {start_hour:%Y-%m-%d %H:%M:%S}")
    if not FIRST_HOUR <= start_hour <= LAST_HOUR:
        raise BadArgument(
            f"--start must lie between {FIRST_HOUR:%Y-%m-%d} and {LAST_HOUR:%Y-%m-%d %H:%M}, the years the lake's "
            f"dd-mm-yy date folders tell apart, not {start_hour:%Y-%m-%d %H:%M:%S}"
        )


def is_initialized(warehouse: Warehouse) -> bool:
    if not warehouse.exists():
        return False
    try:
        with connect(warehouse, read_only=True) as con:
            return read_generator_state(con) is not None
    except WarehouseMissing:
        return False


def initialize(warehouse: Warehouse, fleet: Fleet, *, force: bool = False) -> Fleet:
    """Create the devices (table and Parquet copy) and set the clock; refuses to replace IDs unless ``force``.

    The caller holds the warehouse's "tick" lock. The Parquet file is published first and the warehouse row
    last, so a crash in between leaves an uninitialised warehouse, never one whose IDs disagree.
    """
    validate_fleet(fleet.devices, fleet.seed, fleet.start_hour, fleet.profile)
    try:
        initialized = is_initialized(warehouse)
    except WarehouseCorrupt:
        if not force:
            raise
        set_aside_damaged(warehouse)
        initialized = False
    if not force and initialized:
        raise WarehouseExists(
            f"warehouse {warehouse.root} is already initialised; its device IDs must not change under "
            "existing data (use --force to start over)"
        )
    warehouse.ensure_folder()
    # numpy and shapely take about 0.1 s to import and only init samples points: tick, convert and status,
    # which run every hour, start without them.
    import numpy as np

    from duckwifi.generator.geography import sample_points

    points = sample_points(fleet.devices, fleet.seed)
    staged = temp_path_for(warehouse.devices_parquet)
    try:
        with work_connection(warehouse) as work:
            work.execute(queries.load("reference/state_regions.sql"))
            work.execute(queries.load("reference/state_zones.sql"))
            work.execute(queries.load("generator/realistic/create_quantile_macros.sql"))
            sampled = {
                "site": np.arange(1, fleet.devices + 1, dtype=np.int64),
                "state": points.state,
                "latitude": points.latitude,
                "longitude": points.longitude,
            }
            del points
            work.register("sampled_points", sampled)
            work.execute(queries.load("generator/write_devices.sql"), {"seed": fleet.seed, "target": str(staged)})
            work.unregister("sampled_points")
            del sampled
        publish(staged, warehouse.devices_parquet)
    except BaseException as error:
        # BaseException: a Ctrl-C arrives as KeyboardInterrupt, and must not leave the temporary file behind.
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
        if not isinstance(error, Exception):
            raise
        raise translate(error, target=str(warehouse.devices_parquet)) from None
    parquet_bytes = warehouse.devices_parquet.stat().st_size
    try:
        with connect(warehouse, create=True) as con:
            con.begin()
            con.execute(
                queries.load("generator/load_devices.sql"),
                {"devices_parquet": str(warehouse.devices_parquet)},
            )
            con.execute(queries.load("warehouse/forget_hours.sql"))
            con.execute(
                queries.load("warehouse/reset_generator.sql"),
                {
                    "seed": fleet.seed,
                    "devices": fleet.devices,
                    "start_hour": fleet.start_hour,
                    "devices_parquet_bytes": parquet_bytes,
                    "profile": fleet.profile,
                },
            )
            _record_catalogue(con, fleet.profile)
            write_generator_info(warehouse, GeneratorInfo(fleet.seed, fleet.devices, fleet.profile, fleet.start_hour))
            con.commit()
    except DuckwifiError:
        raise
    except Exception as error:
        raise translate(error, target=str(warehouse.state_database)) from None
    return fleet


def _record_catalogue(con: duckdb.DuckDBPyConnection, profile: str) -> None:
    con.execute(queries.load("warehouse/forget_metric_catalogue.sql"))
    con.executemany(
        queries.load("warehouse/record_metric.sql"),
        [
            {
                "position": position,
                "column_name": metric.column,
                "name": metric.name,
                "unit": metric.unit,
                "family": metric.family,
                "lower": metric.lower,
                "upper": metric.upper,
                "decimals": metric.decimals,
            }
            for position, metric in enumerate(catalogue_for(profile), start=1)
        ],
    )
