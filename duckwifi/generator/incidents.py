"""The incident log: outages and degradations planned from the seed alone, so any hour can be generated alone.

``sql/generator/realistic/schedule_incidents.sql`` plans them; a tick applies those active in each hour it
writes. Readers (the dashboard, a test) get the same list from :func:`list_incidents`, which needs only
``generator.json`` (seed, fleet size, profile) and ``devices.parquet``, never ``state.duckdb``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, astuple, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

import duckdb

from duckwifi import queries
from duckwifi.contract import DATETIME_FORMAT, FIRST_HOUR, LAST_HOUR
from duckwifi.errors import BadArgument, WarehouseCorrupt, WarehouseMissing, translate
from duckwifi.fsutil import publish, temp_path_for
from duckwifi.warehouse import DAMAGED_HINT, Warehouse, work_connection

GENERATOR_INFO_FORMAT = 1


@dataclass(frozen=True)
class Incident:
    incident_id: int
    scope: str  # sector (a state's cell and sector), area (a county-sized grid cell) or state
    kind: str  # outage (severity 1) or degradation
    severity: float  # 0 to 1: how far the catalogue's incident effects apply
    start_hour: datetime
    end_hour: datetime  # exclusive
    state: str | None
    area: int | None
    cell: int | None
    sector: int | None
    latitude: Decimal | None = None  # the device the incident is centred on
    longitude: Decimal | None = None

    def is_active(self, hour: datetime) -> bool:
        return self.start_hour <= hour < self.end_hour

    def as_text(self) -> list[str]:
        """The fields as CSV text: hours as ``YYYY-MM-DD HH:MM:SS``, an unused field empty."""
        return [
            value.strftime(DATETIME_FORMAT) if isinstance(value, datetime) else "" if value is None else str(value)
            for value in astuple(self)
        ]


INCIDENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Incident))


@dataclass(frozen=True)
class GeneratorInfo:
    """What a reader needs to derive the incident log: ``generator.json``, written by init."""

    seed: int
    devices: int
    profile: str
    start_hour: datetime


def write_generator_info(warehouse: Warehouse, info: GeneratorInfo) -> None:
    document = {"format": GENERATOR_INFO_FORMAT, **asdict(info), "start_hour": info.start_hour.isoformat()}
    staged = temp_path_for(warehouse.generator_info)
    staged.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    publish(staged, warehouse.generator_info)


def read_generator_info(warehouse: Warehouse) -> GeneratorInfo:
    try:
        document = json.loads(warehouse.generator_info.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WarehouseMissing(
            f"no {warehouse.generator_info.name} in {warehouse.root}; run `duckwifi init` first"
        ) from None
    except (OSError, ValueError) as error:
        raise WarehouseCorrupt(f"cannot read {warehouse.generator_info} ({error}); {DAMAGED_HINT}") from None
    try:
        return GeneratorInfo(
            seed=int(document["seed"]),
            devices=int(document["devices"]),
            profile=str(document["profile"]),
            start_hour=datetime.fromisoformat(document["start_hour"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise WarehouseCorrupt(
            f"{warehouse.generator_info} is not one duckwifi wrote ({type(error).__name__}: {error}); {DAMAGED_HINT}"
        ) from None


def schedule(
    work: duckdb.DuckDBPyConnection,
    *,
    seed: int,
    devices: int,
    devices_parquet: str,
    first_hour: datetime,
    last_hour: datetime,
) -> list[Incident]:
    """The incidents that overlap [first_hour, last_hour), planned from the seed."""
    rows = work.execute(
        queries.load("generator/realistic/schedule_incidents.sql"),
        {
            "seed": seed,
            "devices": devices,
            "devices_parquet": devices_parquet,
            "first_hour": first_hour,
            "last_hour": last_hour,
        },
    ).fetchall()
    return [Incident(*row) for row in rows]


def load(work: duckdb.DuckDBPyConnection, incidents: Sequence[Incident]) -> None:
    """Make ``incidents`` the ones the next hours written on ``work`` apply."""
    work.execute(queries.load("generator/realistic/create_incident_table.sql"))
    if incidents:
        work.executemany(
            queries.load("generator/realistic/insert_incident.sql"), [asdict(incident) for incident in incidents]
        )


def list_incidents(warehouse: Warehouse, first_hour: datetime, last_hour: datetime) -> list[Incident]:
    """The warehouse's incidents overlapping [first_hour, last_hour); none for a uniform warehouse or an empty
    range (first_hour == last_hour, as the API answers it)."""
    if last_hour == first_hour:
        return []
    if last_hour < first_hour:
        raise BadArgument(
            f"--to ({last_hour:%Y-%m-%d %H:%M:%S}) must come after --from ({first_hour:%Y-%m-%d %H:%M:%S})"
        )
    # Only the clock's century can hold an hour of data; planning incidents beyond it took memory by the
    # year (22 GB for 1900-9999) for hours that can never be written.
    first_hour, last_hour = max(first_hour, FIRST_HOUR), min(last_hour, LAST_HOUR + timedelta(hours=1))
    if last_hour <= first_hour:
        return []
    info = read_generator_info(warehouse)
    if info.profile != "realistic":
        return []
    if not warehouse.devices_parquet.is_file():
        raise WarehouseMissing(f"no devices file {warehouse.devices_parquet}; run `duckwifi init` first")
    try:
        with work_connection(warehouse) as work:
            return schedule(
                work,
                seed=info.seed,
                devices=info.devices,
                devices_parquet=os.fspath(warehouse.devices_parquet),
                first_hour=first_hour,
                last_hour=last_hour,
            )
    except duckdb.Error as error:
        raise translate(error, target=str(warehouse.devices_parquet)) from None
