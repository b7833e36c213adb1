"""Day digests: a cache, beside the units, of the serving store's derived rows of one day.

Loading a unit means merging it (six levels of statistics, sketches, quantiles, day cells), which made a
30-day ``ServingStore`` take minutes to start. A digest holds what ``replace_hours.sql`` and
``replace_days.sql`` produce for one day's hours from that day's units, written once as Parquet, so a
reader loads the day with plain reads (``replace_days_from_digests.sql``).

A digest is never a source of truth. It is found by name, ``digests/<YYYY-MM-DD>-<key>/``, where the key
hashes the names of the units it was made from (unit names are never reused), and ``digest.json`` lists
those names. A reader uses a day's digest only when that set is exactly the manifest's units for the day;
otherwise it loads the day from units. So anything that changes a day's units (a new source of the day,
``--replace-changed``, ``forget``, ``check --repair``, ``rollup --rebuild``) makes its digest stale without
touching it: a stale digest is ignored, and removed by the next ``write_digests``.

A digest folder is written under a hidden temporary name (``.<name>.<pid>.tmp``), its files and
``digest.json`` fsynced, then renamed into place: readers see a whole digest or none. A kill leaves only the
hidden folder, which the next ``write_digests`` deletes before writing the digest again. Only the holder of
the warehouse's "convert" lock writes or removes digests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from duckwifi.fsutil import fsync_dir, fsync_file
from duckwifi.rollups.store import Manifest, Unit, read_manifest
from duckwifi.serving.schema import create_serving_schema
from duckwifi.sql_scripts import execute_script
from duckwifi.warehouse import Warehouse, work_connection

DIGESTS_DIR = "digests"
DIGEST_INFO_NAME = "digest.json"
DIGEST_FORMAT = 1
# The serving tables a digest holds, one Parquet file each; the names are part of the format.
DIGEST_TABLES: tuple[str, ...] = (
    "stats_hour",
    "stats_day",
    "sketch_hour",
    "sketch_day",
    "quantile_hour",
    "quantile_day",
    "cells_day",
    "cell_centres",
    "hour_rows",
)
_DAY_FORMAT = "%Y-%m-%d"
_HOURS_PER_DAY = 24
_TEMP_NAME = re.compile(r"^\.(?P<final>.+)\.(?P<pid>\d+)(\.old)?\.tmp$")


@dataclass(frozen=True)
class DigestReport:
    """What ``write_digests`` did: the days it wrote, the stale or unfinished digests it removed, its time."""

    written: list[datetime] = field(default_factory=list)
    removed: int = 0
    seconds: float = 0.0


def day_of(hour: datetime) -> datetime:
    return hour.replace(hour=0, minute=0, second=0, microsecond=0)


def units_by_day(manifest: Manifest) -> dict[datetime, list[Unit]]:
    """Each day with rows, and the manifest's units holding rows of it (a unit may span days)."""
    days: dict[datetime, list[Unit]] = {}
    for unit in manifest.units:
        for day in sorted({day_of(h) for h in unit.hours}):
            days.setdefault(day, []).append(unit)
    return days


def digest_name(day: datetime, units: Iterable[Unit]) -> str:
    """``<YYYY-MM-DD>-<16 hex digits of the SHA-256 of the sorted unit names>``."""
    names = "\n".join(sorted(u.unit for u in units))
    return f"{day.strftime(_DAY_FORMAT)}-{hashlib.sha256(names.encode()).hexdigest()[:16]}"


def digests_dir(warehouse: Warehouse) -> Path:
    return warehouse.rollups_dir / DIGESTS_DIR


def digest_files(folder: Path) -> dict[str, str]:
    return {table: str(folder / f"{table}.parquet") for table in DIGEST_TABLES}


def usable_digest(warehouse: Warehouse, day: datetime, units: Sequence[Unit]) -> Path | None:
    """The folder of ``day``'s digest made from exactly ``units``, or None (never made, or being made)."""
    folder = digests_dir(warehouse) / digest_name(day, units)
    try:
        info = json.loads((folder / DIGEST_INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("format") != DIGEST_FORMAT:
        return None
    if info.get("day") != day.strftime(_DAY_FORMAT) or sorted(info.get("units", [])) != sorted(u.unit for u in units):
        return None
    return folder


def complete_days(manifest: Manifest) -> list[datetime]:
    """Days no later convert is expected to add to: older than the newest hour's day, or holding 24 hours."""
    hours = {h for u in manifest.units for h in u.hours}
    if not hours:
        return []
    newest_day = day_of(max(hours))
    held: dict[datetime, int] = {}
    for hour in hours:
        held[day_of(hour)] = held.get(day_of(hour), 0) + 1
    return sorted(d for d, n in held.items() if d < newest_day or n == _HOURS_PER_DAY)


def write_digest(warehouse: Warehouse, day: datetime, units: Sequence[Unit]) -> Path:
    """Write ``day``'s digest from ``units`` (the manifest's units of that day) and publish it; its folder."""
    root = digests_dir(warehouse)
    root.mkdir(parents=True, exist_ok=True)
    final = root / digest_name(day, units)
    temp = root / f".{final.name}.{os.getpid()}.tmp"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    try:
        _write_tables(warehouse, day, units, temp)
        info = {
            "format": DIGEST_FORMAT,
            "day": day.strftime(_DAY_FORMAT),
            "units": sorted(u.unit for u in units),
            "files": {table: f"{table}.parquet" for table in DIGEST_TABLES},
        }
        (temp / DIGEST_INFO_NAME).write_text(json.dumps(info, indent=1), encoding="utf-8")
        for entry in temp.iterdir():
            fsync_file(entry)
        fsync_dir(temp)
        if final.exists():
            # Only called when the folder of this name is not usable (damaged, or its digest.json names other
            # units): set it aside first, so that readers meanwhile find no digest and read the units.
            discarded = root / f".{final.name}.{os.getpid()}.old.tmp"
            os.rename(final, discarded)
            shutil.rmtree(discarded, ignore_errors=True)
        os.rename(temp, final)
        fsync_dir(root)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return final


def _write_tables(warehouse: Warehouse, day: datetime, units: Sequence[Unit], folder: Path) -> None:
    """Run the serving store's own loading statements for the day in a scratch store, then copy its tables."""
    rollups = warehouse.rollups_dir
    hours = sorted({h for u in units for h in u.hours if day_of(h) == day})
    files = {table: sorted(str(u.path(rollups, table)) for u in units) for table in ("stats", "sketch", "cells")}
    # One day's rows are a thirtieth of a month's store; a scratch database per day keeps memory at that.
    # Unit files are read once each, so DuckDB's cache of external files would only hold memory.
    with work_connection(warehouse, settings={"enable_external_file_cache": False}) as con:
        create_serving_schema(con)
        execute_script(
            con, "serving/replace_hours.sql", {"hours": hours, "stats": files["stats"], "sketches": files["sketch"]}
        )
        execute_script(
            con, "serving/replace_days.sql", {"days": [day], "sketches": files["sketch"], "cells": files["cells"]}
        )
        execute_script(con, "rollups/digest_write.sql", digest_files(folder))


def remove_stale_digests(warehouse: Warehouse, manifest: Manifest) -> int:
    """Delete digests that no longer match their day's units, and unfinished ones of dead processes."""
    root = digests_dir(warehouse)
    if not root.is_dir():
        return 0
    current = {digest_name(day, units) for day, units in units_by_day(manifest).items()}
    removed = 0
    for entry in root.iterdir():
        temp = _TEMP_NAME.match(entry.name)
        if temp is not None:
            if _pid_alive(int(temp["pid"])):
                continue
        elif entry.name in current:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
        removed += 1
    if removed:
        fsync_dir(root)
    return removed


def write_digests(warehouse: Warehouse, *, rewrite: bool = False) -> DigestReport:
    """Write the digest of every complete day that lacks a usable one, then remove stale ones.

    ``rewrite`` drops every digest first (``rollup --rebuild``). The caller holds the "convert" lock.
    """
    started = time.perf_counter()
    manifest = read_manifest(warehouse)
    removed = 0
    if rewrite and digests_dir(warehouse).is_dir():
        removed = sum(1 for _ in digests_dir(warehouse).iterdir())
        shutil.rmtree(digests_dir(warehouse))
    by_day = units_by_day(manifest)
    written = []
    for day in complete_days(manifest):
        units = by_day[day]
        if usable_digest(warehouse, day, units) is None:
            write_digest(warehouse, day, units)
            written.append(day)
    removed += remove_stale_digests(warehouse, manifest)
    return DigestReport(written, removed, time.perf_counter() - started)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
