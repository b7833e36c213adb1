"""``ServingStore``: the rollup store loaded into an in-memory DuckDB, following the manifest, answering queries.

Loading is incremental: ``refresh`` compares the manifest's units with the loaded ones and, in one
transaction, rebuilds only the hours and days that gained or lost a unit (per-source units cannot be
subtracted, so an hour is re-merged from all of its units). A query runs on its own cursor and sees the
state before or after a refresh's transaction, never a mix: a source's rollups appear all or nothing.

Grains served (docs/rollups.md): statistics by hour and day, pre-merged for the nation, each region and
each state, with and without band; sketches by hour and day for the nation and each region, state-level
hourly sketches for the sketch window (``sketch_window_hours``, filled a day at a time after a load), and
running totals of the state-level day sketches; p50/p90/p99 of every hour and day at those three levels,
computed at load; map cells by day, and by hour for the recent window (``window_hours``). A range is cut
into whole days plus the hours at either end. A question reads the coarsest level holding its filters.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import duckdb

from duckwifi import queries
from duckwifi.cursors import ThreadCursors
from duckwifi.errors import InvalidQuery, QueryNotServed, RollupsDamaged, first_line
from duckwifi.rollups import digests
from duckwifi.rollups.production import install_macros
from duckwifi.rollups.store import Manifest, Unit, manifest_path, read_manifest
from duckwifi.serving.catalogue import (
    BANDS,
    BREAKDOWN_DIMENSIONS,
    BUCKETS,
    DAY,
    HOUR,
    MAP_STATS,
    MAX_BINS,
    MAX_LIMIT,
    METRICS,
    QUANTILES,
    REGIONS,
    STATE_REGIONS,
    STATS,
    BandFilter,
    Filter,
    bands_filter,
    check_choice,
    metric_index,
    positive_int,
    regions_filter,
    states_filter,
    whole_hour,
)
from duckwifi.serving.ranking import BucketValues, histogram, quantile_rows
from duckwifi.serving.schema import create_serving_schema
from duckwifi.sql_scripts import execute_script as _execute_script
from duckwifi.sql_scripts import statements as _statements
from duckwifi.warehouse import Warehouse, memory_limit

log = logging.getLogger(__name__)

# Hourly map cells are kept in memory for the newest two days: a 24-hour map anywhere in them is answered
# from memory. Older hours (for the partial days of a range) are read from the units' files. For 30 days
# they would be the size of the whole store.
DEFAULT_WINDOW_HOURS = 48
# State-level hourly sketches are kept longer: for 31 days, so that a state quantile over any range of the
# newest 30 days, from any hour to any hour, reads memory only (with its partial days' hours read from unit
# files it took twice as long). Compressed, 31 days of them take about 0.5 GB at a 20M fleet's group counts.
# A first load holds them for the recent window; the older days are filled one a refresh (``fill``).
DEFAULT_SKETCH_WINDOW_HOURS = 31 * 24
# The store lives in memory, compressed once loaded (about 0.5 GB for 30 days at a 20M fleet's group counts,
# 2.9 GB as a first load writes them), and its tables are sorted again now and then, one at a time, so its
# DuckDB may use more than a pipeline command's default.
SERVING_MEMORY_LIMIT = "4GB"
# Refreshes append rows out of the tables' (metric, level, time) order, which the row groups' min/max
# statistics rely on to skip other metrics; after this many reloaded hours the tables are sorted again.
DEFAULT_COMPACT_AFTER_HOURS = 24
# A reader that finds a unit's file deleted under it (a newer publish replaced it) reads the manifest again.
_LOAD_ATTEMPTS = 3
# The window's map cells are also kept merged by blocks of this many hours (a divisor of 24, so that blocks
# align with days): a range inside the window reads its whole blocks and only the hours at its ends.
BLOCK_HOURS = 6
# A state-level quantile over at least this many whole days reads two days' running totals (sketch_running)
# rather than each day's sketches.
_RUNNING_DAYS = 3
_BLOCK = BLOCK_HOURS * HOUR
_EPOCH = datetime(1970, 1, 1)
_EMPTY_RUN = (_EPOCH, _EPOCH)


@dataclass(frozen=True)
class _Runs:
    """[start, end) as up to two runs of hours and one run of whole days, covering every hour once."""

    h1: tuple[datetime, datetime]
    h2: tuple[datetime, datetime]
    days: tuple[datetime, datetime]

    def params(self) -> dict[str, datetime]:
        return {
            "h1_start": self.h1[0],
            "h1_end": self.h1[1],
            "h2_start": self.h2[0],
            "h2_end": self.h2[1],
            "d_start": self.days[0],
            "d_end": self.days[1],
        }

    def hour_starts(self) -> list[datetime]:
        return [run[0] for run in (self.h1, self.h2) if run[0] < run[1]]


def _unit_unreadable(error: duckdb.Error) -> RollupsDamaged:
    """A unit file a question reads (hours older than the window) is damaged, or gone though still listed."""
    return RollupsDamaged(
        f"cannot read the rollup store ({first_line(error)}); `duckwifi check` lists damaged rollups and "
        "`duckwifi check --repair` rebuilds them"
    )


def _floor_day(value: datetime) -> datetime:
    return value.replace(hour=0)


def _floor_block(value: datetime) -> datetime:
    return value.replace(hour=value.hour - value.hour % BLOCK_HOURS)


def _first_window_hour(held_hours: Sequence[datetime], window: timedelta) -> datetime:
    """The first hour of a window of ``window`` ending at the newest held hour: cells_hour and cells_block hold the
    recent window's from it, and the sketch window starts there; the loading and the questions must agree on it."""
    return (held_hours[-1] if held_hours else _EPOCH) + HOUR - window


def _ceil_block(value: datetime) -> datetime:
    floor = _floor_block(value)
    return floor if floor == value else floor + _BLOCK


def _cut(start: datetime, end: datetime, *, use_days: bool) -> _Runs:
    if not use_days:
        return _Runs((start, end), _EMPTY_RUN, _EMPTY_RUN)
    first_day = _floor_day(start) if start == _floor_day(start) else _floor_day(start) + DAY
    last_day = _floor_day(end)
    if first_day >= last_day:
        return _Runs((start, end), _EMPTY_RUN, _EMPTY_RUN)
    return _Runs((start, first_day), (last_day, end), (first_day, last_day))


@dataclass(frozen=True)
class _EdgePlan:
    """How a range is read: its runs; the hours older than the window read from unit files, either added (hours
    of the runs) or subtracted (hours of a whole day, in the days run, that lie outside the range); and up to
    two runs of hours inside the window subtracted from a whole day in memory (``minus``)."""

    runs: _Runs
    added: list[datetime]
    subtracted: list[datetime]
    minus: tuple[tuple[datetime, datetime], tuple[datetime, datetime]] = (_EMPTY_RUN, _EMPTY_RUN)
    # Whether the question reads whole days (it does not group by hour): its hours from unit files are then
    # merged per day as they are loaded, so the edge table holds a day's rows, not each hour's.
    by_day: bool = False
    # Up to two runs of the window's six-hour blocks (cells_block; the map only, see _read_blocks).
    blocks: tuple[tuple[datetime, datetime], tuple[datetime, datetime]] = (_EMPTY_RUN, _EMPTY_RUN)

    def minus_params(self) -> dict[str, datetime]:
        (m1_start, m1_end), (m2_start, m2_end) = self.minus
        return {"m1_start": m1_start, "m1_end": m1_end, "m2_start": m2_start, "m2_end": m2_end}

    def block_params(self) -> dict[str, datetime]:
        (b1_start, b1_end), (b2_start, b2_end) = self.blocks
        return {"b1_start": b1_start, "b1_end": b1_end, "b2_start": b2_start, "b2_end": b2_end}

    @property
    def reads_edges(self) -> bool:
        """Whether the question reads hours older than the window from the units' files (a cursor's edge table)."""
        return bool(self.added or self.subtracted)

    def edge_key(self, version: str, metric: int) -> tuple[object, ...]:
        """What an edge table loaded for this plan holds: one metric's rows of these hours of this store."""
        return (version, metric, tuple(self.added), tuple(self.subtracted), self.by_day)


def _plan_edges(
    span: tuple[datetime, datetime],
    held_hours: Sequence[datetime],
    window_start: datetime,
    *,
    use_days: bool,
    subtract: bool,
    memory: bool = False,
) -> _EdgePlan:
    """Cut ``span``; with ``subtract``, a partial day is read as its whole day minus the hours outside the range
    when those are fewer (a range starting at 01:00 reads one hour, not 23). The day must lie wholly older than
    the window (its hours are read from unit files), or, with ``memory``, wholly inside it (its hours are in
    memory).

    ``held_hours`` are the hours some unit holds, in order. Only counts and sums subtract, so ``subtract`` is for
    sketches and for the map's count and avg, never for min or max.
    """
    start, end = span
    runs = _cut(start, end, use_days=use_days)

    def held(a: datetime, b: datetime) -> Sequence[datetime]:
        return held_hours[bisect.bisect_left(held_hours, a) : bisect.bisect_left(held_hours, b)]

    subtracted: list[datetime] = []
    minus = (_EMPTY_RUN, _EMPTY_RUN)
    if use_days and subtract:

        def cheaper(day: datetime, inside: Sequence[datetime], outside: Sequence[datetime]) -> bool:
            whole_day_read = day + DAY <= window_start or (memory and day >= window_start)
            return whole_day_read and len(outside) < len(inside)

        first, last = _floor_day(start), _floor_day(end)
        wider_start, wider_end = start, end
        if start != first and end != last and first == last:
            # One day cut at both ends.
            if cheaper(first, held(start, end), [*held(first, start), *held(end, first + DAY)]):
                wider_start, wider_end = first, first + DAY
        else:
            if start != first and cheaper(first, held(start, first + DAY), held(first, start)):
                wider_start = first
            if end != last and cheaper(last, held(last, end), held(end, last + DAY)):
                wider_end = last + DAY
        if (wider_start, wider_end) != (start, end):
            runs = _cut(wider_start, wider_end, use_days=True)
            outside = [(wider_start, start), (end, wider_end)]
            subtracted = [h for a, b in outside for h in held(a, min(b, window_start))]
            in_memory = [run if run[0] >= window_start else _EMPTY_RUN for run in outside]
            minus = (in_memory[0], in_memory[1])
    added = [h for run_start, run_end in (runs.h1, runs.h2) for h in held(run_start, min(run_end, window_start))]
    return _EdgePlan(runs, added, subtracted, minus, by_day=use_days)


def _read_blocks(plan: _EdgePlan, window_start: datetime, *, subtract: bool) -> _EdgePlan:
    """Read each run of hours that lies inside the window as its whole six-hour blocks plus the hours at its
    ends; with ``subtract`` (count and avg), an end is rounded out to a block boundary instead when the hours
    then subtracted, plus the block, are fewer than the hours added (a run from 13:00 reads the 12:00 block
    minus 12:00, not five hours). The plan must come from ``_plan_edges`` without ``memory``, so that its
    ``minus`` is free for the hours subtracted here; runs reaching older than the window stay as they are.
    """
    hours: list[tuple[datetime, datetime]] = []
    blocks: list[tuple[datetime, datetime]] = []
    minus: list[tuple[datetime, datetime]] = []
    for start, end in (plan.runs.h1, plan.runs.h2):
        if start >= end:
            continue
        low, high = _ceil_block(start), _floor_block(end)
        if start >= window_start:
            if subtract and _floor_block(start) >= window_start and start - _floor_block(start) + HOUR < low - start:
                low = _floor_block(start)
            if subtract and _ceil_block(end) - end + HOUR < end - high:
                high = _ceil_block(end)
        if start < window_start or low >= high:
            hours.append((start, end))
            continue
        blocks.append((low, high))
        hours.extend(run for run in ((start, low), (high, end)) if run[0] < run[1])
        minus.extend(run for run in ((low, start), (end, high)) if run[0] < run[1])
    # A run cut at both ends is the range's only run; two runs each have one end on a day boundary.
    hours += [_EMPTY_RUN] * (2 - len(hours))
    blocks += [_EMPTY_RUN] * (2 - len(blocks))
    minus += [_EMPTY_RUN] * (2 - len(minus))
    runs = _Runs(hours[0], hours[1], plan.runs.days)
    return _EdgePlan(
        runs, plan.added, plan.subtracted, (minus[0], minus[1]), by_day=plan.by_day, blocks=(blocks[0], blocks[1])
    )


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _consistent(question: Callable[Concatenate[ServingStore, _P], _T]) -> Callable[Concatenate[ServingStore, _P], _T]:
    """Answer from one state of the store: tables and manifest of the same load. A question plans from the
    manifest (its hours, the window) and reads the tables; a refresh commits the tables and then swaps the
    manifest, so a question that overlapped a commit is asked again once the swap is done."""

    @functools.wraps(question)
    def asked(store: ServingStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        while True:
            begun = store._commits
            if store._swapped == begun:
                answer = question(store, *args, **kwargs)
                if store._commits == begun:
                    return answer
            time.sleep(0.001)

    return asked


class ServingStore:
    """The serving store of one warehouse; thread-safe: queries may run while ``refresh`` loads."""

    def __init__(
        self,
        warehouse: Warehouse | Path | str,
        *,
        window_hours: int = DEFAULT_WINDOW_HOURS,
        sketch_window_hours: int = DEFAULT_SKETCH_WINDOW_HOURS,
        compact_after_hours: int = DEFAULT_COMPACT_AFTER_HOURS,
        fill: bool = True,
    ) -> None:
        """Load the store. With ``fill`` (the default) the state-level hourly sketches of the whole sketch window
        are loaded before this returns (about 0.8 s a day); without it, one day more with each ``refresh``, and
        questions read the hours not yet held from unit files meanwhile (``serve`` starts that way)."""
        self._warehouse = warehouse if isinstance(warehouse, Warehouse) else Warehouse(Path(warehouse))
        self._window = window_hours * HOUR
        self._sketch_window = max(sketch_window_hours, window_hours) * HOUR
        self._compact_after_hours = compact_after_hours
        # Unit files are read once each, so DuckDB's cache of external files would only hold memory.
        config = {"memory_limit": memory_limit(SERVING_MEMORY_LIMIT), "enable_external_file_cache": False}
        self._db = duckdb.connect(":memory:", config=config)
        _execute_script(self._db, "serving/open_store.sql", {})
        create_serving_schema(self._db)
        self._buckets = BucketValues.read(self._db)
        self._refresh_lock = threading.Lock()
        self._cursors = ThreadCursors(self._new_cursor)
        # The connection a refresh (or a compaction) is working on, and whether the store is closing: a server
        # that stops mid-refresh interrupts it rather than wait for it (it rolls back).
        self._working: duckdb.DuckDBPyConnection | None = None
        self._closing = threading.Event()
        self._manifest = Manifest()
        # When the loaded version's manifest was written (its mtime), for the health check's age.
        self._published_at: float | None = None
        self._window_hours: set[datetime] = set()
        # Every held hour from this one on has its state-level sketches in sketch_hour (see fill).
        self._sketches_from = _EPOCH
        # The days some unit holds an hour of, in order (sketch_running holds a row set for each).
        self._held_days: list[datetime] = []
        self._unfilled_version: str | None = None
        self._hours_since_compaction = 0
        # Hours whose rows loads appended out of order since the last compaction (compact_sketch_hours.sql).
        self._unsorted_hours: set[datetime] = set()
        # Loads committed, and the last of them whose manifest is swapped in (see _consistent).
        self._commits = 0
        self._swapped = 0
        self.refresh()
        if fill:
            self.fill()

    # -- state -----------------------------------------------------------------------------------------

    @property
    def version(self) -> str:
        """Changes whenever new data (or a replacement, or a removal) is published."""
        return self._manifest.version

    @property
    def lake(self) -> str | None:
        return self._manifest.lake

    def seconds_since_publish(self) -> float | None:
        """Seconds since the manifest of the loaded version was published, or None when nothing is."""
        if self._published_at is None:
            return None
        return max(0.0, datetime.now().timestamp() - self._published_at)

    def refresh(self) -> bool:
        """Follow the manifest: load what changed since the last load; True when the version changed. Then load
        one more day of the sketch window's state-level hourly sketches, while some are not held (see fill)."""
        with self._refresh_lock:
            changed = self._follow()
            self._fill_day()
            return changed

    @property
    def filled(self) -> bool:
        """Whether every held hour of the sketch window has its state-level sketches in memory (see fill)."""
        return not self._manifest.hours or self._sketches_from <= self._oldest_sketch_hour()

    def _oldest_sketch_hour(self) -> datetime:
        """The oldest hour whose state-level sketches the store holds once filled: the sketch window's first, or
        the first held hour when later (_EPOCH when none is held)."""
        held = self._manifest.hours
        return max(_first_window_hour(held, self._sketch_window), held[0]) if held else _EPOCH

    @property
    def filling(self) -> bool:
        """Whether the sketch window is still being filled: not filled, and not stopped by a unit file that cannot
        be read (then it is tried again once the store's version changes)."""
        return not self.filled and self._unfilled_version != self.version

    def fill(self) -> None:
        """Load the state-level hourly sketches of every day of the sketch window not yet held, a day at a time
        (each its own transaction, compressed before the next): answers do not change, they come from memory."""
        with self._refresh_lock:
            while self._fill_day():
                pass

    def _follow(self) -> bool:
        """Load the manifest's changes (under the refresh lock); True when the version changed."""
        for attempt in range(_LOAD_ATTEMPTS):
            # Read before the manifest: a publish in between makes the age look older, never newer.
            published_at = _modified_at(manifest_path(self._warehouse))
            manifest = read_manifest(self._warehouse)
            if manifest.version == self._manifest.version:
                return False
            if manifest.generation == 0 and self._manifest.generation > 0:
                # Generations only grow: a store that was published is never unpublished, so its manifest
                # was deleted (the whole rollups folder, say). Keep serving what is loaded.
                raise RollupsDamaged(
                    f"{manifest_path(self._warehouse)} is gone; run `duckwifi rollup --rebuild` to rebuild it"
                )
            try:
                self._load(manifest)
            except duckdb.IOException as error:
                # A unit replaced while it was read: the manifest has moved on, so read it again.
                if attempt + 1 == _LOAD_ATTEMPTS:
                    raise _unit_damaged(error) from None
                continue
            except duckdb.InvalidInputException as error:
                raise _unit_damaged(error) from None
            # (_load swapped the manifest in with the tables.)
            self._published_at = published_at
            return True
        return False

    def interrupt(self) -> None:
        """Stop a refresh in progress, and any later one; the loaded state stays as it was."""
        self._closing.set()
        working = self._working
        if working is not None:
            with contextlib.suppress(duckdb.Error):
                working.interrupt()

    def close(self) -> None:
        self._cursors.close()
        self._db.close()

    def __enter__(self) -> ServingStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------------------------------

    @_consistent
    def timeseries(
        self,
        metric: str,
        stat: str = "avg",
        start: datetime | None = None,
        end: datetime | None = None,
        bucket: str = "hour",
        region: Filter = None,
        state: Filter = None,
        band: BandFilter = None,
    ) -> list[dict[str, Any]]:
        """``[{"time", "value", "count"}]`` ordered by time; only buckets with rows; a day is labelled by 00:00."""
        check_choice("bucket", bucket, BUCKETS)
        rows = self._ask(metric, stat, start, end, group=bucket, region=region, state=state, band=band)
        return [{"time": t, "value": v, "count": n} for t, _, v, n in rows]

    @_consistent
    def breakdown(
        self,
        metric: str,
        stat: str = "avg",
        by: str = "state",
        start: datetime | None = None,
        end: datetime | None = None,
        region: Filter = None,
        state: Filter = None,
        band: BandFilter = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """``[{"key", "value", "count"}]``, highest value first (undefined values last), ties by key."""
        check_choice("by", by, BREAKDOWN_DIMENSIONS)
        limit = positive_int("limit", limit, MAX_LIMIT)
        rows = self._ask(metric, stat, start, end, group=by, region=region, state=state, band=band)
        answer = [{"key": k, "value": v, "count": n} for _, k, v, n in rows]
        answer.sort(key=lambda r: (r["value"] is None, -(r["value"] or 0.0), _key_order(by, r["key"])))
        return answer[:limit]

    @_consistent
    def map_cells(
        self,
        metric: str,
        stat: str = "avg",
        start: datetime | None = None,
        end: datetime | None = None,
        region: Filter = None,
        state: Filter = None,
        band: BandFilter = None,
    ) -> list[dict[str, Any]]:
        """``[{"cell", "lat", "lon", "value", "count"}]`` ordered by cell id; lat/lon are the cell's centre."""
        index = metric_index(metric)
        check_choice("stat", stat, STATS)
        if stat not in MAP_STATS:
            raise QueryNotServed("stat", f"the map answers {', '.join(MAP_STATS)}, not {stat}")
        regions, states, bands = regions_filter(region), states_filter(state), bands_filter(band)
        if bands:
            raise QueryNotServed("band", "the map is not kept by band; drop the band filter")
        span = self._span(start, end)
        if span is None:
            return []
        subtract = stat in ("count", "avg")
        plan = self._plan(span, use_days=True, subtract=subtract)
        plan = _read_blocks(plan, self._window_start(), subtract=subtract)
        runs = plan.runs
        if plan.reads_edges:
            # Partial days older than the hourly window: their hours come from the units' files.
            self._load_edge("cells", plan, index)
        columns = self._run_columns(
            "serving/cells_query.sql",
            {
                "metric": index,
                "stat": stat,
                "regions": regions,
                "states": states,
                "edges": plan.reads_edges,
                **runs.params(),
                **plan.block_params(),
                **plan.minus_params(),
            },
        )
        # Columns, not rows: DuckDB hands over a map's thousands of cells as arrays in a fraction of the time it
        # takes to build a Python tuple per row (docs/benchmarks.md, s24).
        cells, lats, lons, values, counts = (columns[name].tolist() for name in ("cell", "lat", "lon", "value", "n"))
        return [
            {"cell": c, "lat": lat, "lon": lon, "value": v, "count": n}
            for c, lat, lon, v, n in zip(cells, lats, lons, values, counts, strict=True)
        ]

    @_consistent
    def distribution(
        self,
        metric: str,
        start: datetime | None = None,
        end: datetime | None = None,
        region: Filter = None,
        state: Filter = None,
        band: BandFilter = None,
        bins: int = 40,
    ) -> dict[str, Any]:
        """``{"p50", "p90", "p99", "count", "bins": [{"lower", "upper", "count"}]}`` from the sketches."""
        index = metric_index(metric)
        bins = positive_int("bins", bins, MAX_BINS)
        regions, states, bands = regions_filter(region), states_filter(state), bands_filter(band)
        empty: dict[str, Any] = {"p50": None, "p90": None, "p99": None, "count": 0, "bins": []}
        if bands:
            raise _band_quantile_refusal()
        span = self._span(start, end)
        if span is None:
            return empty
        level = 2 if states else 1 if regions else 0
        merged = self._merged_sketches(index, level, "none", regions, states, span)
        rows = quantile_rows(merged, list(QUANTILES.values()), self._buckets)
        if not rows:
            return empty
        _, _, p50, p90, p99, count = rows[0]
        return {"p50": p50, "p90": p90, "p99": p99, "count": count, "bins": histogram(merged, bins, self._buckets)}

    @_consistent
    def holds_data(self, start: datetime, end: datetime) -> bool:
        """Whether some hour in [start, end) holds data (a bisection of the loaded manifest's sorted hours)."""
        held = self._manifest.hours
        nearest = bisect.bisect_left(held, start)
        return nearest < len(held) and held[nearest] < end

    @_consistent
    def overview(self) -> dict[str, Any]:
        """``{"first_hour", "last_hour", "hours", "rows", "last_hour_rows", "rows_per_hour", "version"}``."""
        rows = self._run("serving/overview.sql", {})
        return {
            "first_hour": rows[0][0] if rows else None,
            "last_hour": rows[-1][0] if rows else None,
            "hours": len(rows),
            "rows": sum(int(n) for _, n in rows),
            "last_hour_rows": int(rows[-1][1]) if rows else None,
            "rows_per_hour": [{"time": t, "rows": int(n)} for t, n in rows],
            "version": self.version,
        }

    @_consistent
    def meta(self) -> dict[str, Any]:
        """The allow-lists (metrics, stats, regions, states with their region, bands) and the coverage."""
        overview = self.overview()
        return {
            "metrics": list(METRICS),
            "stats": list(STATS),
            "regions": list(REGIONS),
            "states": [{"state": s, "region": r} for s, r in sorted(STATE_REGIONS.items())],
            "bands": list(BANDS),
            "first_hour": overview["first_hour"],
            "last_hour": overview["last_hour"],
            "last_hour_rows": overview["last_hour_rows"],
            "version": overview["version"],
        }

    # -- internals -------------------------------------------------------------------------------------

    def _ask(
        self,
        metric: str,
        stat: str,
        start: datetime | None,
        end: datetime | None,
        *,
        group: str,
        region: Filter,
        state: Filter,
        band: BandFilter,
    ) -> list[tuple[Any, ...]]:
        index = metric_index(metric)
        check_choice("stat", stat, STATS)
        regions, states, bands = regions_filter(region), states_filter(state), bands_filter(band)
        if stat in QUANTILES and bands:
            raise _band_quantile_refusal()
        if stat in QUANTILES and group == "band":
            raise QueryNotServed(
                "by", "quantiles are kept by hour, region and state, not by band; choose by=region or by=state"
            )
        span = self._span(start, end)
        if span is None:
            return []
        geography = 2 if states or group == "state" else 1 if regions or group == "region" else 0
        if stat in QUANTILES:
            column = 2 + list(QUANTILES).index(stat)
            if _looked_up(group, geography, regions, states, span):
                params = {
                    "metric": index,
                    "level": geography,
                    "bucket": group,
                    "range_start": span[0],
                    "range_end": span[1],
                }
                rows = self._run("serving/quantile_series.sql", {**params, "regions": regions, "states": states})
            else:
                merged = self._merged_sketches(index, geography, group, regions, states, span)
                rows = quantile_rows(merged, list(QUANTILES.values()), self._buckets)
            return [(row[0], row[1], row[column], row[5]) for row in rows]
        runs = _cut(*span, use_days=group != "hour")
        level = geography + (3 if bands or group == "band" else 0)
        params = {"metric": index, "level": level, "stat": stat, "group": group, "regions": regions, "states": states}
        return self._run("serving/stats_query.sql", {**params, "bands": bands, **runs.params()})

    def _span(self, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime] | None:
        """The asked range, defaulted to the data's; None when it is empty or holds no data."""
        first = whole_hour("start", start)
        last = whole_hour("end", end)
        if first is not None and last is not None and first > last:
            raise InvalidQuery("start", f"start {first.isoformat()} is after end {last.isoformat()}")
        held = self._manifest.hours
        if not held:
            return None
        first = held[0] if first is None else first
        last = held[-1] + HOUR if last is None else last
        if first >= last:
            return None
        # A range holding no hour of the store (the earlier period of a young store's comparison) is answered
        # here, without planning a question over nothing.
        nearest = bisect.bisect_left(held, first)
        if nearest == len(held) or held[nearest] >= last:
            return None
        # Cut to the whole days around the data, which changes no answer: the plan then never steps a day past
        # a range that ends in year 9999, and an earlier start still begins on a whole day.
        return max(first, _floor_day(held[0])), min(last, _floor_day(held[-1]) + DAY)

    def _load_edge(self, table: str, plan: _EdgePlan, index: int) -> None:
        """Read one metric's hours older than the window (``plan.added``, and ``plan.subtracted`` negated) from the
        units' ``table`` files into this cursor's edge table (serving/load_<table>_edge.sql), unless it holds them
        already (the next question on the metric over the same range reuses them); a unit replaced since the
        last refresh is gone, so refresh and retry."""
        session = self._cursors.get()
        statement = f"serving/load_{table}_edge.sql"
        for attempt in range(_LOAD_ATTEMPTS):
            key = plan.edge_key(self.version, index)
            if session.filled.get(statement) == key:
                return
            try:
                session.filled.pop(statement, None)
                params = {
                    "metric": index,
                    "hours": plan.added,
                    "minus_hours": plan.subtracted,
                    "by_day": plan.by_day,
                    "files": self._unit_files(table, plan.added + plan.subtracted),
                }
                _execute_script(session.connection, statement, params)
                session.filled[statement] = key
                return
            except duckdb.InvalidInputException as error:
                raise _unit_unreadable(error) from None
            except duckdb.IOException as error:
                if attempt + 1 == _LOAD_ATTEMPTS:
                    raise _unit_unreadable(error) from None
                self.refresh()

    def _unit_files(self, table: str, hours: list[datetime]) -> list[str]:
        wanted = set(hours)
        units = {u.unit: u for u in self._manifest.units if wanted.intersection(u.hours)}
        return sorted(str(u.path(self._warehouse.rollups_dir, table)) for u in units.values())

    def _merged_sketches(
        self,
        index: int,
        level: int,
        group: str,
        regions: list[str],
        states: list[str],
        span: tuple[datetime, datetime],
    ) -> dict[str, Any]:
        """One question's sketch buckets, merged per group and in value order (serving/sketch_merge.sql), as
        numpy columns for ranking.py. Whole days are read from the day tables unless the grouping is by hour."""
        plan = self._prepare_sketch_edge(index, level, span, group != "hour")
        params = {"metric": index, "level": level, "group": group, "regions": regions, "states": states}
        params["edges"] = plan.reads_edges
        params["running_to"], params["running_before"] = None, None
        days_start, days_end = plan.runs.days
        # Not for a series by day, whose days are its groups.
        held = self._held_days
        to = bisect.bisect_left(held, days_end)
        if level == 2 and group != "day" and days_end - days_start >= _RUNNING_DAYS * DAY and to > 0:
            # The last held day of the run (or before it: then the two totals cancel) minus the last before it.
            params["running_to"] = held[to - 1]
            before = bisect.bisect_left(held, days_start)
            params["running_before"] = held[before - 1] if before > 0 else None
        return self._run_columns("serving/sketch_merge.sql", {**params, **plan.runs.params(), **plan.minus_params()})

    def _prepare_sketch_edge(
        self, index: int, level: int, span: tuple[datetime, datetime], use_days: bool
    ) -> _EdgePlan:
        """Plan the range's sketch rows; fill this cursor's sketch_edge when a state-level question needs hours
        older than the sketch window, or not yet filled (state-level hourly sketches are in memory from
        ``_sketches_from`` on; the nation's and the regions' for every hour)."""
        if level != 2:
            return _plan_edges(span, self._manifest.hours, _EPOCH, use_days=use_days, subtract=True, memory=True)
        plan = self._sketch_plan(span, use_days=use_days)
        if plan.reads_edges:
            self._load_edge("sketch", plan, index)
        return plan

    def _sketch_plan(self, span: tuple[datetime, datetime], *, use_days: bool) -> _EdgePlan:
        """Cut a state-level sketch question's range, and list the hours it needs that memory does not hold
        (before ``_sketches_from``), read from unit files (see _plan_edges)."""
        return _plan_edges(
            span, self._manifest.hours, self._sketches_from, use_days=use_days, subtract=True, memory=True
        )

    def _plan(self, span: tuple[datetime, datetime], *, use_days: bool, subtract: bool) -> _EdgePlan:
        """Cut a map's range, and list the hours it needs that are older than the hourly window (see
        _plan_edges)."""
        return _plan_edges(span, self._manifest.hours, self._window_start(), use_days=use_days, subtract=subtract)

    def _window_start(self) -> datetime:
        return _first_window_hour(self._manifest.hours, self._window)

    def _new_cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = self._connection()
        # Temporary macros and tables belong to one connection, and each cursor is a connection of its own.
        install_macros(cursor)
        _execute_script(cursor, "serving/create_cursor_tables.sql", {})
        return cursor

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own to the store's database (serving/open_store.sql)."""
        con = self._db.cursor()
        _execute_script(con, "serving/use_store.sql", {})
        return con

    def _run(self, statement: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return self._cursors.get().connection.execute(queries.load(statement), params).fetchall()

    def _run_columns(self, statement: str, params: dict[str, Any]) -> dict[str, Any]:
        """The answer's columns as numpy arrays (masked where NULL)."""
        return self._cursors.get().connection.execute(queries.load(statement), params).fetchnumpy()

    def _load(self, manifest: Manifest, *, use_digests: bool = True) -> None:
        """Bring the in-memory tables from the loaded manifest's units to ``manifest``'s, in one transaction.

        A day digest is a cache: one that cannot be read (damaged by hand or by the disk) rolls the
        transaction back, and the load is done again from the units alone."""
        rollups = self._warehouse.rollups_dir
        first_load = not self._manifest.units
        old = {u.unit: u for u in self._manifest.units}
        new = {u.unit: u for u in manifest.units}
        changed = [old[k] for k in old.keys() - new.keys()] + [new[k] for k in new.keys() - old.keys()]
        units_by_hour: dict[datetime, list[Unit]] = {}
        for unit in manifest.units:
            for hour in unit.hours:
                units_by_hour.setdefault(hour, []).append(unit)
        hours = {h for u in changed for h in u.hours}
        hours_with = sorted(h for h in hours if h in units_by_hour)
        hours_without = sorted(hours - set(hours_with))
        days = {_floor_day(h) for h in hours}
        days_with = {_floor_day(h) for h in units_by_hour}
        window_start = _first_window_hour(manifest.hours, self._window)
        in_window = {h for h in units_by_hour if h >= window_start}
        window_hours = sorted((in_window & set(hours_with)) | (in_window - self._window_hours))
        # State-level hourly sketches: held from sketches_from on (the window's hours at least, older days as
        # they are filled); a changed hour among them is loaded again, and those leaving the sketch window go.
        sketch_start = _first_window_hour(manifest.hours, self._sketch_window)
        sketches_from = window_start if first_load else min(max(self._sketches_from, sketch_start), window_start)
        old_changed = {h for h in hours_with if sketches_from <= h < window_start}
        if len(old_changed) > DAY // HOUR:
            # More than a day of them (a rebuilt store, many replaced sources): not in this transaction, whose
            # rows stay uncompressed until it commits, but filled again a day at a time, like a first load's.
            sketches_from, old_changed = window_start, set()
        sketch_hours = sorted(set(window_hours) | old_changed)
        rebuilt_days = sorted(days & days_with)

        def files(table: str, wanted_hours: set[datetime]) -> list[str]:
            units = {u.unit: u for h in wanted_hours for u in units_by_hour.get(h, [])}
            return sorted(str(u.path(rollups, table)) for u in units.values())

        # A day whose digest was made from exactly its current units is read from the digest, not merged.
        by_day = digests.units_by_day(manifest)
        digested = {
            day: folder
            for day in rebuilt_days
            if use_digests and (folder := digests.usable_digest(self._warehouse, day, by_day[day])) is not None
        }
        rebuilt_days = [d for d in rebuilt_days if d not in digested]
        merged_hours = [h for h in hours_with if _floor_day(h) not in digested]
        day_hours = {h for h in units_by_hour if _floor_day(h) in set(rebuilt_days)}
        steps: list[tuple[str, dict[str, Any]]] = []
        if hours_without:
            steps.append(("clear_hours", {"hours": hours_without, "days": sorted(days - days_with)}))
        if digested:
            day_files = [digests.digest_files(digested[day]) for day in sorted(digested)]
            tables = {table: [f[table] for f in day_files] for table in digests.DIGEST_TABLES}
            steps.append(("replace_days_from_digests", {"days": sorted(digested), **tables}))
        # A day at a time, so that the rows being merged (a day of state-level sketches, for the quantiles)
        # stay small beside the store, however many days a first load brings.
        for chunk in _by_day(merged_hours):
            wanted = set(chunk)
            steps.append(
                (
                    "replace_hours",
                    {"hours": chunk, "stats": files("stats", wanted), "sketches": files("sketch", wanted)},
                )
            )
        for day in rebuilt_days:
            of_day = {h for h in day_hours if _floor_day(h) == day}
            steps.append(
                ("replace_days", {"days": [day], "sketches": files("sketch", of_day), "cells": files("cells", of_day)})
            )
        # Running totals from the first changed day on (a day at a time, each from the one before).
        held_days = sorted(days_with)
        if days:
            first_changed = bisect.bisect_left(held_days, min(days))
            for index in range(first_changed, len(held_days)):
                previous = held_days[index - 1] if index > 0 else None
                steps.append(("replace_running_sketches", {"day": held_days[index], "previous": previous}))
        if window_hours:
            steps.append(
                ("replace_window_hours", {"window_hours": window_hours, "cells": files("cells", set(window_hours))})
            )
        if sketch_hours:
            steps.append(
                ("replace_state_sketch_hours", {"hours": sketch_hours, "sketches": files("sketch", set(sketch_hours))})
            )
        # No state-level hour is kept before sketches_from: questions read those from unit files.
        steps.append(("drop_window_hours", {"oldest": window_start, "oldest_sketch": sketches_from}))
        touched_blocks = {_floor_block(h) for h in window_hours + hours_without}
        steps.append(
            (
                "replace_window_blocks",
                {
                    "blocks": sorted(b for b in touched_blocks if b >= window_start),
                    "oldest": window_start,
                    "block_hours": BLOCK_HOURS,
                },
            )
        )
        con = self._connection()
        self._working = con
        install_macros(con)
        try:
            con.begin()
            for name, params in steps:
                _refuse_when_closing(self._closing)
                _execute_script(con, f"serving/{name}.sql", params)
            self._commits += 1
            con.commit()
            # Questions plan from the manifest: swap it in with the tables, before a compaction (seconds).
            self._manifest = manifest
            self._held_days = held_days
            self._window_hours = in_window
            self._sketches_from = sketches_from
        except (duckdb.IOException, duckdb.InvalidInputException) as error:
            con.rollback()
            # A digest deleted meanwhile (a convert found it stale) is retried with the newer manifest by the
            # caller, as a replaced unit is; only digests still there may be damaged ones.
            if not digested or not all(folder.is_dir() for folder in digested.values()):
                raise
            unreadable: Exception | None = error
        except BaseException:
            con.rollback()
            raise
        else:
            unreadable = None
        finally:
            # Swapped in with the tables, or nothing committed: questions may plan again either way.
            self._swapped = self._commits
            self._working = None
            con.close()
        if unreadable is not None:
            # DuckDB's message names the file; the days of every digest are then loaded from their units.
            log.warning(
                "a day digest of %s cannot be read (%s); the days are loaded from their units "
                "(`duckwifi check --repair` rewrites it)",
                self._warehouse.root,
                first_line(unreadable),
            )
            self._load(manifest, use_digests=False)
            return
        # A first load reads all digests in one sorted insert: only the hours merged after it are out of order.
        self._hours_since_compaction += len(hours) - (
            sum(1 for h in hours if _floor_day(h) in digested) if first_load else 0
        )
        self._unsorted_hours |= {h for h in hours_with if not (first_load and _floor_day(h) in digested)}
        self._unsorted_hours |= set(sketch_hours)
        if self._hours_since_compaction >= self._compact_after_hours:
            self._compact()
        self._compress()

    def _fill_day(self) -> bool:
        """Load the state-level hourly sketches of the held hours of the day before ``_sketches_from`` (or of its
        hours before it), inside the sketch window, in a transaction of their own; False when none is left."""
        if not self.filling:
            return False
        held = self._manifest.hours
        day = max(_floor_day(self._sketches_from - HOUR), self._oldest_sketch_hour())
        hours = list(held[bisect.bisect_left(held, day) : bisect.bisect_left(held, self._sketches_from)])
        if not hours:
            self._sketches_from = day
            return True
        _refuse_when_closing(self._closing)
        con = self._connection()
        self._working = con
        try:
            con.begin()
            params = {"hours": hours, "sketches": self._unit_files("sketch", hours)}
            _execute_script(con, "serving/replace_state_sketch_hours.sql", params)
            self._commits += 1
            con.commit()
            self._sketches_from = day
        except (duckdb.IOException, duckdb.InvalidInputException) as error:
            # A unit replaced meanwhile (the next refresh follows the manifest, then fills this day), or damaged
            # (a question over its hours then says so, as it would have without filling): the store serves on.
            con.rollback()
            self._unfilled_version = self.version
            log.warning(
                "cannot fill the sketch window from a unit file (%s); it is tried again after the next publish",
                first_line(error),
            )
            return False
        except BaseException:
            con.rollback()
            raise
        finally:
            self._swapped = self._commits
            self._working = None
            con.close()
        self._compress()
        return True

    def _compress(self) -> None:
        """Compress what the load (and a compaction) wrote: the store's database holds it as written until it is
        checkpointed, about five times its compressed size (serving/compress_store.sql)."""
        con = self._connection()
        self._working = con
        try:
            _checkpoint(con)
        finally:
            self._working = None
            con.close()

    def _compact(self) -> None:
        """Sort the tables again, one statement (one table) at a time; a query sees one order or the other."""
        con = self._connection()
        self._working = con
        try:
            for statement in _statements("serving/compact_tables.sql"):
                _refuse_when_closing(self._closing)
                con.execute(statement)
                # A table sorted again is held as written until compressed: one at a time, not all at once.
                _checkpoint(con)
            _refuse_when_closing(self._closing)
            con.begin()
            try:
                _execute_script(con, "serving/compact_sketch_hours.sql", {"hours": sorted(self._unsorted_hours)})
                con.commit()
            except BaseException:
                con.rollback()
                raise
            self._unsorted_hours.clear()
            self._hours_since_compaction = 0
        except duckdb.OutOfMemoryException:
            # Order only speeds queries up; they stay right, and the next refresh tries again.
            log.warning("not enough memory to sort the serving store again (DUCKWIFI_MEMORY_LIMIT); will retry")
        finally:
            self._working = None
            con.close()


def _checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Compress what was written (serving/compress_store.sql). It only saves memory, so it never fails a load:
    DuckDB refuses it while a question that began before a table was replaced still runs (a compaction), or
    without the memory; the next load's checkpoint compresses what this one left."""
    try:
        _execute_script(con, "serving/compress_store.sql", {})
    except duckdb.TransactionException as error:
        log.debug("the serving store is compressed at the next load: %s", first_line(error))
    except duckdb.OutOfMemoryException:
        log.warning("not enough memory to compress the serving store (DUCKWIFI_MEMORY_LIMIT); will retry")


def _modified_at(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _refuse_when_closing(closing: threading.Event) -> None:
    if closing.is_set():
        raise duckdb.InterruptException("the serving store is closing")


def _by_day(hours: list[datetime]) -> list[list[datetime]]:
    """Sorted hours cut into runs of one day each."""
    chunks: dict[datetime, list[datetime]] = {}
    for hour in hours:
        chunks.setdefault(_floor_day(hour), []).append(hour)
    return list(chunks.values())


def _looked_up(
    group: str, geography: int, regions: list[str], states: list[str], span: tuple[datetime, datetime]
) -> bool:
    """True when quantiles by hour or whole day of the nation, one region or one state answer the question."""
    if group == "day":
        if span[0] != _floor_day(span[0]) or span[1] != _floor_day(span[1]):
            return False
    elif group != "hour":
        return False
    if geography == 2:
        return len(states) == 1
    return len(regions) == geography


def _unit_damaged(error: duckdb.Error) -> RollupsDamaged:
    """A unit file the manifest lists cannot be read: the store cannot be loaded as published."""
    return RollupsDamaged(
        f"a rollup unit cannot be read ({first_line(error)}); `duckwifi check` names it, "
        "`duckwifi check --repair` rebuilds it"
    )


def _band_quantile_refusal() -> QueryNotServed:
    return QueryNotServed(
        "band", "quantiles are kept by hour, region and state, not by band; drop the band filter for p50/p90/p99"
    )


def _key_order(by: str, key: str) -> tuple[int, str]:
    return (int(key), "") if by == "band" else (0, key)
