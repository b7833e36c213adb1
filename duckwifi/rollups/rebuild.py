"""``duckwifi rollup --rebuild``: remake every unit of the rollup store from the lake's published Parquet files.

For a lake converted before rollups existed, or after a unit or the manifest was lost. Each source's unit is
produced by the same function the converter calls, from the same files, so rebuilt rollups answer exactly
what converted ones answer. All units are published in one manifest swap: readers see the old store or the
new one. The caller holds the warehouse's "convert" lock.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from duckwifi.converter.identity import lake_missing, owned_lake
from duckwifi.converter.lake import source_key
from duckwifi.converter.ledger import LedgerEntry, read_ledger
from duckwifi.errors import BadArgument, DuckwifiError, LakeUnreadable, translate
from duckwifi.rollups.digests import write_digests
from duckwifi.rollups.production import stage_source
from duckwifi.rollups.store import Manifest, Unit, ensure_manifest, new_unit_dir, publish
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
    if lake_missing(warehouse, lake):
        raise LakeUnreadable.gone(lake)
    with connect(warehouse, read_only=True) as con:
        entries = read_ledger(con, lake)
    # A lake converted before rollups existed has no manifest: readers see an empty store, not a lost one,
    # while the units are written.
    ensure_manifest(warehouse, lake)
    units = _stage_units(warehouse, lake, entries, sorted(entries))
    manifest = publish(warehouse, units, lake=lake, replace_all=True)
    # Every unit is new, so every digest is stale: drop them all and write the complete days' again.
    write_digests(warehouse, rewrite=True)
    return RebuildReport(lake, manifest, len(units), sum(u.rows for u in units))


def rebuild_sources(warehouse: Warehouse, lake: Path, entries: Mapping[str, LedgerEntry], sources: list[str]) -> int:
    """Rebuild the units of ``sources`` alone from their lake files (`check --repair` of a damaged unit), in one
    manifest swap; returns how many were rebuilt. The caller holds the "convert" lock."""
    units = _stage_units(warehouse, lake, entries, sources)
    publish(warehouse, units, lake=lake, remove_sources=sources)
    write_digests(warehouse)
    return len(units)


def _stage_units(
    warehouse: Warehouse, lake: Path, entries: Mapping[str, LedgerEntry], sources: list[str]
) -> list[Unit]:
    """Write a new unit for each of ``sources`` from its lake files; unlisted until published."""
    units: list[Unit] = []
    written: list[Path] = []
    try:
        with work_connection(warehouse) as reader:
            for source in sources:
                entry = entries[source]
                # A source still 'publishing' is finished, rollups included, by the next convert.
                if entry.status != "done":
                    continue
                written.append(new_unit_dir(warehouse, source_key(Path(source))))
                try:
                    unit = stage_source(
                        reader, [lake / o for o in entry.outputs], written[-1], source=source, sha256=entry.sha256
                    )
                except duckdb.Error as error:
                    raise _unreadable_source(source, error) from None
                if unit is not None:
                    units.append(unit)
    except BaseException:
        # Stopped (Ctrl-C, a full disk) before the swap: the store is as it was, without this run's units.
        for folder in written:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return units


def _unreadable_source(source: str, error: duckdb.Error) -> DuckwifiError:
    """A source's lake files could not be read back: an OS condition as itself (a full disk, say); otherwise
    a missing or damaged lake file, which `check --repair` restores from the source."""
    translated = translate(error, target=source)
    if type(translated) is not DuckwifiError:
        return translated
    return LakeUnreadable(
        f"cannot rebuild the rollups of {source}: {translated}; `duckwifi check` lists missing and damaged lake "
        "files, and `duckwifi check --repair` restores them"
    )
