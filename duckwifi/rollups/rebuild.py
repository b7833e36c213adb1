"""``duckwifi rollup --rebuild``: remake every unit of the rollup store from the lake's published Parquet files.

For a lake converted before rollups existed, or after a unit or the manifest was lost. Each source's unit is
produced by the same function the converter calls, from the same files, so rebuilt rollups answer exactly
what converted ones answer. All units are published in one manifest swap: readers see the old store or the
new one. The caller holds the warehouse's "convert" lock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from duckwifi import queries
from duckwifi.converter.lake import source_key
from duckwifi.errors import BadArgument
from duckwifi.rollups.production import stage_source
from duckwifi.rollups.store import Manifest, Unit, new_unit_dir, publish
from duckwifi.warehouse import Warehouse, connect, work_connection


@dataclass(frozen=True)
class RebuildReport:
    lake: Path
    manifest: Manifest
    sources: int
    rows: int


def find_lake(warehouse: Warehouse) -> Path:
    """The warehouse's lake: from ``lake.json`` when present, else the conversions ledger."""
    try:
        info = json.loads(warehouse.lake_info.read_text(encoding="utf-8"))
        if isinstance(info, dict) and isinstance(info.get("lake"), str):
            return Path(info["lake"])
    except (OSError, ValueError):
        pass
    with connect(warehouse, read_only=True) as con:
        lakes = con.execute(queries.load("rollups/list_ledger_lakes.sql")).fetchall()
    if not lakes:
        raise BadArgument(f"no lake is converted in {warehouse.root} yet; run `duckwifi convert` first")
    return Path(lakes[0][0])


def rebuild(warehouse: Warehouse) -> RebuildReport:
    """Rebuild every unit from the lake's files of each source the ledger lists as converted."""
    lake = find_lake(warehouse)
    with connect(warehouse, read_only=True) as con:
        entries = con.execute(queries.load("warehouse/list_conversions.sql"), {"lake": str(lake)}).fetchall()
    units: list[Unit] = []
    with work_connection(warehouse) as reader:
        for source, _bytes, _mtime, sha256, status, outputs, _retired in sorted(entries):
            # A source still 'publishing' is finished, rollups included, by the next convert.
            if status != "done":
                continue
            unit = stage_source(
                reader,
                [lake / o for o in outputs],
                new_unit_dir(warehouse, source_key(Path(source))),
                source=source,
                sha256=sha256,
            )
            if unit is not None:
                units.append(unit)
    manifest = publish(warehouse, units, lake=lake, replace_all=True)
    return RebuildReport(lake, manifest, len(units), sum(u.rows for u in units))
