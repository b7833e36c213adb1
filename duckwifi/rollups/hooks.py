"""The converter's calls into the rollup store, kept here so the converter carries only marked one-line hooks.

``open_store`` runs once the lake is claimed, before any unit is written: a warehouse's first convert publishes
an empty manifest, so that a manifest missing beside written units is known to be lost (store.read_manifest).

One source, one unit of work:

1. ``stage`` where the source is staged (here, or on a Dask worker), after its lake files are staged and
   fsynced: the unit is written complete (unit.json last) but not listed, so a kill here leaves nothing a
   reader sees. The unit travels back to the client with the staged lake files.
2. ``publish`` on the client, right after the lake files are published: one manifest swap lists the
   source's new unit and drops its previous one. Other units are left alone: in a distributed run they may
   be written, waiting for the client, at that very moment.
3. ``discard`` when the unit of work fails or the client rejects the source.

``finish_interrupted`` runs where the converter finishes sources a killed run left 'publishing' (before any
staging): their unit was written before the ledger recorded them, so it is found and published; if it is
missing, it is made again from the source's lake files. ``remove_unpublished`` then deletes every folder the
manifest does not list: units of killed runs, of killed workers (Dask reran their task elsewhere) or of
rejected sources; it runs with nothing being staged (at the start and end of a convert, in check and forget).
``write_digests`` runs last in a convert: the day digests of complete days (duckwifi/rollups/digests.py).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import duckdb

from duckwifi.errors import RollupsDamaged
from duckwifi.rollups import digests, store
from duckwifi.rollups.production import stage_source
from duckwifi.warehouse import Warehouse, work_connection

log = logging.getLogger(__name__)


def refuse_damaged(warehouse: Warehouse) -> None:
    """Before a convert does anything: a manifest that cannot be read stops it (RollupsDamaged, naming
    `duckwifi rollup --rebuild`), rather than let it convert files whose rollups it could not publish."""
    store.read_manifest(warehouse)


def open_store(warehouse: Warehouse, lake: Path, *, converted_sources: int) -> None:
    """Once the lake is claimed, before any unit is written: an empty manifest where none was published.

    Where the ledger already records converted sources, a missing manifest is a store deleted (or a lake
    converted before rollups existed): converting on would start a store of the new sources alone, which
    readers would take for the whole. So are listed units whose folders are gone (under the convert lock no
    publish removes one): a new manifest would keep listing them. RollupsDamaged, naming `duckwifi rollup
    --rebuild`."""
    manifest = store.manifest_path(warehouse)
    if converted_sources and not manifest.exists():
        raise RollupsDamaged(
            f"the rollup store's manifest {manifest} is gone, and the ledger records {converted_sources} converted "
            "source(s); run `duckwifi rollup --rebuild` to rebuild it from the lake"
        )
    store.ensure_manifest(warehouse, lake)
    store.refuse_gone_units(warehouse)


def stage(
    warehouse: Warehouse,
    reader: duckdb.DuckDBPyConnection,
    source: Path,
    source_key: str,
    staged_files: Sequence[Path],
    sha256: str,
) -> store.Unit | None:
    """Write the source's unit from its staged lake files (read again, from the page cache); a failure
    removes what it wrote."""
    folder = store.new_unit_dir(warehouse, source_key)
    try:
        return stage_source(reader, staged_files, folder, source=str(source), sha256=sha256)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def publish(warehouse: Warehouse, lake: Path, source: Path, unit: store.Unit | None) -> None:
    """List the source's new unit in the manifest (or drop its old one when it has no rows now)."""
    if unit is None:
        store.publish(warehouse, [], lake=lake, remove_sources=[str(source)], only_replaced=True)
    else:
        store.publish(warehouse, [unit], lake=lake, only_replaced=True)


def move_source(warehouse: Warehouse, old: str, new: str) -> None:
    """The ledger's record of a converted file followed it to a new path: so does its unit."""
    try:
        store.move_source(warehouse, old, new)
    except RollupsDamaged:
        # `duckwifi rollup --rebuild` remakes the store from the ledger, new path included.
        log.warning("the rollup manifest is damaged; run `duckwifi rollup --rebuild`")


def remove_unpublished(warehouse: Warehouse) -> None:
    """Delete the unit folders the manifest does not list; only while nothing is being staged. A damaged
    manifest is left for `duckwifi rollup --rebuild`, and so are the folders."""
    try:
        manifest = store.read_manifest(warehouse)
    except RollupsDamaged:
        return
    store.remove_unlisted_units(warehouse, manifest)


def discard(warehouse: Warehouse, unit: store.Unit | None) -> None:
    if unit is not None:
        shutil.rmtree(warehouse.rollups_dir / store.UNITS_DIR / unit.unit, ignore_errors=True)


def finish_interrupted(
    warehouse: Warehouse,
    lake: Path,
    interrupted: Mapping[str, tuple[str, Sequence[str]]],
    source_key_of: Callable[[Path], str],
) -> None:
    """Publish the units of sources a killed convert had recorded: ``{source: (sha256, lake outputs)}``."""
    if not interrupted:
        return
    published = store.read_manifest(warehouse).by_source()
    units: list[store.Unit] = []
    removed: list[str] = []
    reader: duckdb.DuckDBPyConnection | None = None
    try:
        for source, (sha256, outputs) in sorted(interrupted.items()):
            current = published.get(source)
            if current is not None and current.sha256 == sha256:
                continue
            key = source_key_of(Path(source))
            unit = store.find_written_unit(warehouse, key, sha256)
            if unit is None and outputs:
                if reader is None:
                    reader = work_connection(warehouse)
                folder = store.new_unit_dir(warehouse, key)
                unit = stage_source(reader, [lake / o for o in outputs], folder, source=source, sha256=sha256)
            if unit is None:
                removed.append(source)
            else:
                units.append(unit)
    finally:
        if reader is not None:
            reader.close()
    if units or removed:
        store.publish(warehouse, units, lake=lake, remove_sources=removed)


def write_digests(warehouse: Warehouse) -> digests.DigestReport | None:
    """At the end of a convert: write the digests of complete days that lack one, remove stale ones.

    Digests are a cache: a failure to write one leaves readers loading that day from its units, so it is
    logged, not raised (the convert itself succeeded). A damaged manifest is left for `rollup --rebuild`.
    """
    try:
        return digests.write_digests(warehouse)
    except RollupsDamaged:
        return None
    except (OSError, duckdb.Error) as error:
        log.warning("could not write the rollups' day digests (%s); readers load those days from units", error)
        return None
