"""``duckwifi rollup --rebuild``: remake every unit of the rollup store from the lake's published Parquet files.

For a lake converted before rollups existed, or after a unit or the manifest was lost. Each source's unit is
produced by the same function the converter calls, from the same files, so rebuilt rollups answer exactly
what converted ones answer. All units are published in one manifest swap: readers see the old store or the
new one. The caller holds the warehouse's "convert" lock.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from duckwifi.converter.identity import owned_lake
from duckwifi.converter.lake import source_key
from duckwifi.converter.ledger import read_ledger
from duckwifi.errors import BadArgument
from duckwifi.rollups.digests import write_digests
from duckwifi.rollups.production import stage_source
from duckwifi.rollups.store import Manifest, Unit, new_unit_dir, publish
from duckwifi.warehouse import Warehouse, connect, registered_lake, work_connection


@dataclass(frozen=True)
class RebuildReport:
    lake: Path
    manifest: Manifest
    sources: int
    rows: int


def find_lake(warehouse: Warehouse) -> Path:
    """The warehouse's one lake: from ``lake.json``, else as its state records it."""
    lake = registered_lake(warehouse) or owned_lake(warehouse)
    if lake is None:
        raise BadArgument(f"no lake is converted in {warehouse.root} yet; run `duckwifi convert` first")
    return lake


def rebuild(warehouse: Warehouse) -> RebuildReport:
    """Rebuild every unit from the lake's files of each source the ledger lists as converted."""
    lake = find_lake(warehouse)
    with connect(warehouse, read_only=True) as con:
        entries = read_ledger(con, lake)
    units: list[Unit] = []
    written: list[Path] = []
    try:
        with work_connection(warehouse) as reader:
            for source, entry in sorted(entries.items()):
                # A source still 'publishing' is finished, rollups included, by the next convert.
                if entry.status != "done":
                    continue
                written.append(new_unit_dir(warehouse, source_key(Path(source))))
                unit = stage_source(
                    reader, [lake / o for o in entry.outputs], written[-1], source=source, sha256=entry.sha256
                )
                if unit is not None:
                    units.append(unit)
    except BaseException:
        # Stopped (Ctrl-C, a full disk) before the swap: the store is as it was, without this run's units.
        for folder in written:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    manifest = publish(warehouse, units, lake=lake, replace_all=True)
    # Every unit is new, so every digest is stale: drop them all and write the complete days' again.
    write_digests(warehouse, rewrite=True)
    return RebuildReport(lake, manifest, len(units), sum(u.rows for u in units))
