"""The rollup store's on-disk format (stable; documented in docs/rollups.md) and its crash-safe publication.

Layout under ``warehouse/rollups/``::

    manifest.json                  the commit point: which units are published, and the store's version
    units/<unit>/stats.parquet     one unit per source file, immutable once written
    units/<unit>/sketch.parquet
    units/<unit>/cells.parquet
    units/<unit>/unit.json         written last: the unit is complete and durable
    units/<unit>/.<table>.parquet.partial   a table being written, renamed to <table>.parquet when whole
    digests/<day>-<key>/           a cache of a day's derived serving rows (duckwifi/rollups/digests.py)

A unit is written under a name never used before (``<source key>-<random>``), so nothing a reader may be
reading is ever overwritten. Readers read ``manifest.json`` (replaced by rename, so always whole) and then
only the units it lists; a unit not listed yet is invisible to them. Publishing is the manifest swap alone;
then the units it no longer lists (a replaced source, a forgotten one, leftovers of a killed run) are
deleted. A reader that finds a listed file gone (it was replaced meanwhile) reads the manifest again.
Only a writer holding the warehouse's "convert" lock writes units or the manifest.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from duckwifi.errors import RollupsDamaged
from duckwifi.fsutil import fsync_dir, fsync_file
from duckwifi.warehouse import Warehouse

FORMAT = 1
MANIFEST_NAME = "manifest.json"
UNITS_DIR = "units"
UNIT_INFO_NAME = "unit.json"
# The three tables of a unit, in the order they are written; the names are part of the format.
TABLES: tuple[str, ...] = ("stats", "sketch", "cells")
_HOUR_FORMAT = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True)
class Unit:
    """One source file's rollups: published as a folder of immutable Parquet files."""

    unit: str
    source: str
    sha256: str
    rows: int
    hours: tuple[datetime, ...]

    def path(self, rollups_dir: Path, table: str) -> Path:
        return rollups_dir / UNITS_DIR / self.unit / f"{table}.parquet"

    def to_json(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "source": self.source,
            "sha256": self.sha256,
            "rows": self.rows,
            "hours": [h.strftime(_HOUR_FORMAT) for h in self.hours],
            "files": {table: f"{UNITS_DIR}/{self.unit}/{table}.parquet" for table in TABLES},
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Unit:
        hours = data["hours"]
        assert isinstance(hours, list)
        return cls(
            unit=str(data["unit"]),
            source=str(data["source"]),
            sha256=str(data["sha256"]),
            rows=int(data["rows"]),  # type: ignore[call-overload]
            hours=tuple(datetime.strptime(str(h), _HOUR_FORMAT) for h in hours),
        )


@dataclass(frozen=True)
class Manifest:
    generation: int = 0
    lake: str | None = None
    units: tuple[Unit, ...] = field(default_factory=tuple)

    # A manifest never changes once read, and the server asks for these on every question: computed once.
    @functools.cached_property
    def version(self) -> str:
        """Changes whenever the set of published units changes (unit names are never reused)."""
        digest = hashlib.sha256("\n".join(sorted(u.unit for u in self.units)).encode()).hexdigest()[:12]
        return f"{self.generation}-{digest}"

    @functools.cached_property
    def hours(self) -> tuple[datetime, ...]:
        """Every hour some unit holds, in order."""
        return tuple(sorted({h for u in self.units for h in u.hours}))

    def by_source(self) -> dict[str, Unit]:
        return {u.source: u for u in self.units}

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "generation": self.generation,
            "version": self.version,
            "lake": self.lake,
            "units": [u.to_json() for u in sorted(self.units, key=lambda u: u.source)],
        }


def refuse_gone_units(warehouse: Warehouse) -> None:
    """RollupsDamaged, naming `duckwifi rollup --rebuild`, when units the published manifest lists have no
    folder: deleted by hand, since under the convert lock only a publish removes a unit, and only once it is
    unlisted. Readers would otherwise count the rest as the whole. A manifest that cannot be read is left to what
    reads it next (its own RollupsDamaged says so)."""
    try:
        manifest = read_manifest(warehouse)
    except RollupsDamaged:
        return
    units = warehouse.rollups_dir / UNITS_DIR
    gone = [u.unit for u in manifest.units if not (units / u.unit).is_dir()]
    if gone:
        raise RollupsDamaged(
            f"{len(gone)} unit(s) the rollup store lists are gone from {units} (the first: {gone[0]}); run "
            "`duckwifi rollup --rebuild` to rebuild the store from the lake"
        )


def manifest_path(warehouse: Warehouse) -> Path:
    return warehouse.rollups_dir / MANIFEST_NAME


def read_manifest(warehouse: Warehouse) -> Manifest:
    """The published state; an empty manifest when nothing was ever published. A manifest that is gone while
    written units remain was lost (see ensure_manifest): RollupsDamaged, so that no cleanup takes every unit
    for a leftover."""
    path = manifest_path(warehouse)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        written = written_units(warehouse)
        if written:
            raise RollupsDamaged(
                f"{path} is missing, but {len(written)} written unit(s) remain under {path.parent / UNITS_DIR}; "
                "run `duckwifi rollup --rebuild`"
            ) from None
        return Manifest()
    except (OSError, ValueError) as error:
        raise RollupsDamaged(f"cannot read {path} ({error}); run `duckwifi rollup --rebuild`") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RollupsDamaged(f"{path} is not a format-{FORMAT} rollup manifest; run `duckwifi rollup --rebuild`")
    try:
        units = tuple(Unit.from_json(u) for u in data["units"])
        return Manifest(int(data["generation"]), data.get("lake"), units)
    except (KeyError, TypeError, ValueError, AssertionError) as error:
        raise RollupsDamaged(f"{path} is damaged ({error}); run `duckwifi rollup --rebuild`") from None


def written_units(warehouse: Warehouse) -> list[Path]:
    """The unit folders whose unit.json was written (complete units, listed or not)."""
    return sorted(info.parent for info in (warehouse.rollups_dir / UNITS_DIR).glob(f"*/{UNIT_INFO_NAME}"))


def ensure_manifest(warehouse: Warehouse, lake: Path | str) -> None:
    """Publish an empty manifest where none was ever published, before the first unit is written. From then
    on a missing manifest beside written units means it was lost (read_manifest refuses it), never a first
    publish cut short, whose units a cleanup would delete. The caller holds the warehouse's "convert" lock."""
    if not manifest_path(warehouse).exists() and not written_units(warehouse):
        publish(warehouse, [], lake=lake)


def new_unit_dir(warehouse: Warehouse, source_key: str) -> Path:
    """A fresh folder for a source's unit: a name never used before, so the version always moves."""
    return warehouse.rollups_dir / UNITS_DIR / f"{source_key}-{uuid.uuid4().hex[:12]}"


def partial_table_path(folder: Path, table: str) -> Path:
    """Where a unit's table is written: a name the readers' views (``units/*/<table>.parquet``) never match,
    so a query of them never opens a file still being written (DuckDB reads the first file a glob lists)."""
    return folder / f".{table}.parquet.partial"


def complete_tables(folder: Path) -> None:
    """Give a unit's written tables their final names, each file durable first."""
    for table in TABLES:
        partial = partial_table_path(folder, table)
        fsync_file(partial)
        os.replace(partial, folder / f"{table}.parquet")


def write_unit_info(folder: Path, unit: Unit) -> None:
    """The unit's description, written last: its presence means every file is complete and durable."""
    for table in TABLES:
        fsync_file(folder / f"{table}.parquet")
    info = folder / UNIT_INFO_NAME
    temp = info.with_name(f".{UNIT_INFO_NAME}.tmp")
    temp.write_text(json.dumps(unit.to_json()), encoding="utf-8")
    fsync_file(temp)
    os.replace(temp, info)
    fsync_dir(folder)
    fsync_dir(folder.parent)


def find_written_unit(warehouse: Warehouse, source_key: str, sha256: str) -> Unit | None:
    """A complete unit of this source's content written by a run that was killed before publishing it."""
    for info in sorted((warehouse.rollups_dir / UNITS_DIR).glob(f"{source_key}-*/{UNIT_INFO_NAME}")):
        try:
            unit = Unit.from_json(json.loads(info.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AssertionError):
            continue
        if unit.sha256 == sha256 and unit.unit == info.parent.name:
            return unit
    return None


def publish(
    warehouse: Warehouse,
    units: Iterable[Unit],
    *,
    lake: Path | str | None = None,
    remove_sources: Iterable[str] = (),
    replace_all: bool = False,
    only_replaced: bool = False,
) -> Manifest:
    """Publish written units in one manifest swap (each replaces its source's previous unit), then clean up.

    ``remove_sources`` drops those sources' units in the same swap; ``replace_all`` drops every unit not
    in ``units`` (a rebuild). ``only_replaced``: delete only the units this swap unlisted, not every unlisted
    folder, because a convert's other sources may have units written but not yet published (on Dask workers).
    The caller holds the warehouse's "convert" lock.
    """
    try:
        current = read_manifest(warehouse)
    except RollupsDamaged:
        if not replace_all:
            raise
        # A rebuild replaces every unit, so a damaged manifest loses only its generation count; the version
        # still changes, since it names the units, and rebuilt units have new names.
        current = Manifest()
    kept = {} if replace_all else current.by_source()
    for source in remove_sources:
        kept.pop(source, None)
    for unit in units:
        kept[unit.source] = unit
    manifest = Manifest(current.generation + 1, str(lake) if lake is not None else current.lake, tuple(kept.values()))
    _write_manifest(warehouse, manifest)
    if only_replaced:
        listed = {u.unit for u in manifest.units}
        for unit in current.units:
            if unit.unit not in listed:
                _remove_unit_dir(warehouse.rollups_dir / UNITS_DIR / unit.unit)
    else:
        remove_unlisted_units(warehouse, manifest)
    return manifest


def move_source(warehouse: Warehouse, old: str, new: str) -> Manifest:
    """A converted file moved: its unit is listed under its new path (its files stay as they are), so that
    ``forget`` or a replacement of the new path withdraws it."""
    current = read_manifest(warehouse)
    moved = [dataclasses.replace(u, source=new) for u in current.units if u.source == old]
    if not moved:
        return current
    return publish(warehouse, moved, remove_sources=[old], only_replaced=True)


def remove_sources(warehouse: Warehouse, sources: Iterable[str]) -> Manifest:
    """Forget sources: their units leave the manifest, then their files are deleted."""
    wanted = {str(s) for s in sources}
    current = read_manifest(warehouse)
    if not any(u.source in wanted for u in current.units):
        return current
    return publish(warehouse, [], remove_sources=wanted)


def remove_unlisted_units(warehouse: Warehouse, manifest: Manifest) -> None:
    """Delete unit folders the manifest does not list (replaced units, or a publish cut short)."""
    units_dir = warehouse.rollups_dir / UNITS_DIR
    listed = {u.unit for u in manifest.units}
    if units_dir.is_dir():
        for entry in units_dir.iterdir():
            if entry.name not in listed:
                _remove_unit_dir(entry)
    # Folders moved aside by a run killed before it deleted them.
    for leftover in warehouse.rollups_dir.glob(".removed-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _remove_unit_dir(folder: Path) -> None:
    """Move the folder out of ``units/`` in one rename, then delete it: the readers' views list the files of
    ``units/`` and read the first one's schema, so a file must not vanish from under them file by file."""
    doomed = folder.parent.parent / f".removed-{folder.name}"
    try:
        os.replace(folder, doomed)
    except FileNotFoundError:
        return
    except OSError:
        doomed = folder
    shutil.rmtree(doomed, ignore_errors=True)


def _write_manifest(warehouse: Warehouse, manifest: Manifest) -> None:
    final = manifest_path(warehouse)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{MANIFEST_NAME}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(manifest.to_json(), indent=1), encoding="utf-8")
    fsync_file(temp)
    os.replace(temp, final)
    fsync_dir(final.parent)
