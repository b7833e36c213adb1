"""One device's raw rows, read from the lake's Parquet files and nothing else.

A lookup must stay fast at 20M devices, so it reads as little as it can:
- only the hour folders of the range that exist (listed from the lake, never enumerated from the range);
- only the device's state: its state comes from the fleet's ``devices.parquet`` when the warehouse has one
  (a point look-up pruned by row-group statistics), else every state of those hours is read;
- inside each file, DuckDB skips the row groups whose statistics on ``site`` exclude the device, which is
  what rows written in site order make possible.
During a publish a lookup may see some of a source's partitions and not others; the rollup endpoints never do.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from duckwifi import queries
from duckwifi.converter.identity import is_a_lake
from duckwifi.cursors import ThreadCursors
from duckwifi.errors import LakeUnreadable, WarehouseCorrupt
from duckwifi.serving.catalogue import STATE_REGIONS
from duckwifi.warehouse import Warehouse, memory_limit, registered_lake

HOUR = timedelta(hours=1)
_DATE_FOLDER = "%d-%m-%y"
_STATE_CACHE_SIZE = 65_536


# A lake, or how to find it now: a server follows the warehouse's lake.json, since the first convert (after
# the server started) and a convert into a moved lake both change it.
LakeSource = Path | None | Callable[[], Path | None]


def warehouse_lake(warehouse: Warehouse, at_start: Path | None) -> Callable[[], Path | None]:
    """How a server finds the warehouse's lake at each look-up: ``lake.json`` as it is now (the first convert
    may come after the server started, and a convert into a moved lake re-points it), else the lake found at
    start."""

    def find() -> Path | None:
        try:
            return registered_lake(warehouse) or at_start
        except WarehouseCorrupt as error:
            raise LakeUnreadable(str(error)) from None

    return find


class DeviceReader:
    """Reads devices' rows from the lake; safe to call from many threads (one DuckDB cursor each)."""

    def __init__(self, lake: LakeSource, devices_parquet: Path | None) -> None:
        self._find_lake: Callable[[], Path | None] = lake if callable(lake) else (lambda: lake)
        self._devices = devices_parquet
        # Raw rows cost far more CPU than rollup answers. One look-up at a time, on one DuckDB thread, keeps
        # a burst of them to one core, so the rollup endpoints always have the other.
        self._db = duckdb.connect(":memory:", config={"memory_limit": memory_limit(), "threads": 1})
        self._one_at_a_time = threading.Lock()
        self._cursors = ThreadCursors(self._db.cursor)
        self._states: OrderedDict[int, str | None] = OrderedDict()
        self._states_lock = threading.Lock()

    def close(self) -> None:
        self._cursors.close()
        self._db.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        return self._cursors.get().connection

    @property
    def lake(self) -> Path | None:
        return self._find_lake()

    def hour_folders(self) -> dict[datetime, Path]:
        """Every ``date=dd-mm-yy/hour=H`` folder of the lake, by the hour it holds."""
        lake = self.lake
        if lake is None:
            return {}
        found: dict[datetime, Path] = {}
        try:
            for date_folder in lake.iterdir():
                key, _, value = date_folder.name.partition("=")
                if key != "date" or not date_folder.is_dir():
                    continue
                try:
                    day = datetime.strptime(value, _DATE_FOLDER)
                except ValueError:
                    continue
                for hour_folder in date_folder.iterdir():
                    hour_key, _, hour_value = hour_folder.name.partition("=")
                    if hour_key == "hour" and hour_value.isdigit() and int(hour_value) < 24:
                        found[day + int(hour_value) * HOUR] = hour_folder
        except OSError as error:
            raise LakeUnreadable(f"cannot read the lake {lake}: {error}") from None
        return found

    def newest_hour(self) -> datetime | None:
        """The newest hour folder holding a lake file: `forget` leaves its hours' folders behind, empty."""
        for hour, folder in sorted(self.hour_folders().items(), reverse=True):
            if next(folder.glob("region=*/state=*/*.parquet"), None) is not None:
                return hour
        return None

    def state_of(self, site: int) -> str | None:
        """The device's state from ``devices.parquet``, or None when the warehouse has none or lacks the site."""
        if self._devices is None or not self._devices.is_file():
            return None
        with self._states_lock:
            if site in self._states:
                return self._states[site]
        try:
            row = (
                self._cursor()
                .execute(queries.load("api/device_state.sql"), {"devices": str(self._devices), "site": site})
                .fetchone()
            )
        except duckdb.Error:
            # A fleet file being replaced, or damaged: read every state instead, which is slower but right.
            return None
        state = None if row is None else str(row[0])
        with self._states_lock:
            self._states[site] = state
            while len(self._states) > _STATE_CACHE_SIZE:
                self._states.popitem(last=False)
        return state

    def files_for(self, site: int, start: datetime, end: datetime) -> list[str]:
        state = self.state_of(site)
        pattern = f"region={STATE_REGIONS[state]}/state={state}/*.parquet" if state else "region=*/state=*/*.parquet"
        files: list[str] = []
        for hour, folder in sorted(self.hour_folders().items()):
            if start <= hour < end:
                files += sorted(str(p) for p in folder.glob(pattern))
        return files

    def check_present(self) -> None:
        """A lake folder gone or emptied (a disk unmounted) is LakeUnreadable for every device, whether its answer
        is cached or not: answers are cached by the rollups' version, which does not move when the lake goes."""
        if self.lake is not None and not is_a_lake(self.lake):
            raise LakeUnreadable.gone(self.lake)

    def rows(self, site: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The device's rows with ``start <= datetime < end``, ordered by time; empty when it has none."""
        with self._one_at_a_time:
            return self._rows(site, start, end)

    def _rows(self, site: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
        files = self.files_for(site, start, end)
        if not files:
            return []
        params = {"files": files, "site": site, "range_start": start, "range_end": end}
        try:
            cursor = self._cursor().execute(queries.load("api/device_rows.sql"), params)
        except (duckdb.IOException, duckdb.InvalidInputException):
            # A file listed a moment ago was replaced by a publish: list again once. A damaged file (DuckDB finds
            # no Parquet footer: InvalidInputException) fails again, and is named.
            files = self.files_for(site, start, end)
            if not files:
                return []
            try:
                cursor = self._cursor().execute(queries.load("api/device_rows.sql"), {**params, "files": files})
            except (duckdb.IOException, duckdb.InvalidInputException) as error:
                raise LakeUnreadable(
                    f"cannot read the lake {self.lake}: {error}; `duckwifi check` lists missing and damaged lake files"
                ) from None
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
