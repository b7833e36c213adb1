"""What the generator knows about the data it wrote, read as a reader may: the metric catalogue and the incidents.

Both come from ``generator.json`` (seed, fleet size, profile; written by ``init``) and code, with the incidents
also needing ``devices.parquet``; neither opens ``state.duckdb``. A warehouse without ``generator.json`` (a lake
of delivered CSVs, say) or with the uniform profile has no catalogue meaning and no incidents: its metrics keep
their plain names and its incident log is empty.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime

import duckdb

from duckwifi.api import models
from duckwifi.api.params import format_hour
from duckwifi.errors import LakeUnreadable, WarehouseCorrupt
from duckwifi.generator.catalogue import catalogue_for
from duckwifi.generator.incidents import GeneratorInfo, read_generator_info, schedule
from duckwifi.warehouse import Warehouse, memory_limit

log = logging.getLogger("duckwifi.serve")

REALISTIC = "realistic"


def generator_info(warehouse: Warehouse) -> GeneratorInfo | None:
    """The warehouse's ``generator.json``, or None when it has none or it cannot be read as one."""
    if not warehouse.generator_info.is_file():
        return None
    try:
        return read_generator_info(warehouse)
    except (OSError, WarehouseCorrupt) as error:
        # The page still works with plain names and no incidents; say why once per answer.
        log.warning("ignoring %s: %s", warehouse.generator_info, error)
        return None


def metric_labels(info: GeneratorInfo | None) -> dict[str, models.MetricLabel]:
    """Every metric column's name, unit and label; plain names unless the data has the realistic catalogue."""
    if info is None or info.profile != REALISTIC:
        return {
            m.column: models.MetricLabel(name=m.column, unit=None, label=m.column, description=None)
            for m in catalogue_for("uniform")
        }
    return {
        m.column: models.MetricLabel(
            name=m.name,
            unit=m.unit,
            label=m.label,
            description=f"{m.name} in {m.unit}: {m.family}, physically {m.lower:g} to {m.upper:g}",
        )
        for m in catalogue_for(REALISTIC)
    }


def list_incidents(
    warehouse: Warehouse,
    start: datetime,
    end: datetime,
    holds_data: Callable[[datetime, datetime], bool] | None = None,
) -> list[models.Incident]:
    """The generator's incidents overlapping [start, end); none without a realistic ``generator.json``. With
    ``holds_data`` (whether some hour of [a, b) holds data), only those overlapping an hour with data there.

    It plans them exactly as ``duckwifi incidents`` does (``generator.incidents.schedule``), on an in-memory
    DuckDB of its own: a reader creates nothing in the warehouse, not even the spill folder.
    """
    info = generator_info(warehouse)
    if info is None or info.profile != REALISTIC or end <= start:
        return []
    devices = warehouse.devices_parquet
    if not devices.is_file():
        return []
    con = duckdb.connect(":memory:", config={"memory_limit": memory_limit()})
    try:
        planned = schedule(
            con,
            seed=info.seed,
            devices=info.devices,
            devices_parquet=os.fspath(devices),
            first_hour=start,
            last_hour=end,
        )
    except duckdb.Error as error:
        raise LakeUnreadable(f"cannot read the fleet's {devices} for the incident log: {error}") from None
    finally:
        con.close()
    return [
        models.Incident(
            incident_id=i.incident_id,
            scope=i.scope,
            kind=i.kind,
            severity=i.severity,
            start_hour=format_hour(i.start_hour),
            end_hour=format_hour(i.end_hour),
            state=i.state,
            area=i.area,
            cell=i.cell,
            sector=i.sector,
            latitude=None if i.latitude is None else float(i.latitude),
            longitude=None if i.longitude is None else float(i.longitude),
        )
        for i in planned
        if holds_data is None or holds_data(max(i.start_hour, start), min(i.end_hour, end))
    ]
