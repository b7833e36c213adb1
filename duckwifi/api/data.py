"""What the API serves, and how it stays fresh: the rollup store followed in the background.

A daemon thread asks the store to follow its manifest every ``POLL_INTERVAL_S`` seconds, so a publish is
served within that time plus the load, and a request never pays to look for one. Answers are cached under
the store's version (which every publish changes), so a repeated question costs a dictionary look-up and the
cache empties itself when the version moves on.

This module is the only one that calls the serving library (``duckwifi.serving``, issue 12); it turns the
library's answers into the API's models and its ``InvalidQuery`` errors into 422s naming the API's parameter.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from duckwifi.api import models
from duckwifi.api.params import DataQuery, Range, format_hour, refuse
from duckwifi.errors import DuckwifiError, InvalidQuery, LakeUnreadable
from duckwifi.serving import ServingStore
from duckwifi.serving.catalogue import MAX_LIMIT
from duckwifi.warehouse import Warehouse

log = logging.getLogger("duckwifi.serve")

POLL_INTERVAL_S = 1.0
# Encoded answers kept per version; a 30-day, 30k-cell map is about 4 MB of JSON, so this bounds memory.
CACHE_BUDGET_BYTES = 256 * 1024 * 1024
# The library's names for the range's ends, and the API's.
_API_PARAMETER = {"start": "from", "end": "to"}

T = TypeVar("T")


def _hour(value: datetime | None) -> str | None:
    return None if value is None else format_hour(value)


@dataclass(frozen=True)
class Encoded:
    """One answer in one representation, ready to send."""

    body: bytes
    gzipped: bytes | None
    media_type: str


class AnswerCache:
    """Encoded answers by (version, request), least recently used first out, within a byte budget."""

    def __init__(self, budget_bytes: int = CACHE_BUDGET_BYTES) -> None:
        self._budget = budget_bytes
        self._entries: OrderedDict[tuple[str, str], Encoded] = OrderedDict()
        self._bytes = 0
        self._version: str | None = None
        self._lock = threading.Lock()

    def get(self, version: str, request: str) -> Encoded | None:
        with self._lock:
            entry = self._entries.get((version, request))
            if entry is not None:
                self._entries.move_to_end((version, request))
            return entry

    def put(self, version: str, request: str, entry: Encoded) -> None:
        size = _size(entry)
        if size > self._budget:
            return
        with self._lock:
            old = self._entries.pop((version, request), None)
            if old is not None:
                self._bytes -= _size(old)
            if version != self._version:
                # An answer of an older version will never be asked for again. Looked for only when the
                # version moves: a scan of every entry on each put was 5% of a loaded server's GIL time.
                for key in [k for k in self._entries if k[0] != version]:
                    self._bytes -= _size(self._entries.pop(key))
                self._version = version
            while self._bytes + size > self._budget and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= _size(evicted)
            self._entries[(version, request)] = entry
            self._bytes += size

    def __len__(self) -> int:
        return len(self._entries)


def _size(entry: Encoded) -> int:
    return len(entry.body) + len(entry.gzipped or b"")


class DashboardData:
    """The serving store of one warehouse, followed in the background, answering in the API's models."""

    def __init__(self, warehouse: Warehouse, *, poll_interval_s: float = POLL_INTERVAL_S) -> None:
        self.warehouse = warehouse
        try:
            # Serving starts once the store is loaded; the poller then fills its sketch window, a day at a time.
            self._store = ServingStore(warehouse, fill=False)
        except DuckwifiError as error:
            raise LakeUnreadable(f"cannot read the rollup store of {warehouse.root}: {error}") from None
        except OSError as error:
            raise LakeUnreadable(f"cannot read the rollup store of {warehouse.root}: {error}") from None
        self.cache = AnswerCache()
        self._poll_interval_s = poll_interval_s
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._last_poll_error: str | None = None

    # -- freshness -------------------------------------------------------------------------------------

    @property
    def version(self) -> str:
        return self._store.version

    def refresh(self) -> bool:
        """Follow the store's manifest once; True when the version changed."""
        return self._store.refresh()

    def start(self) -> None:
        if self._poller is None:
            self._stop.clear()
            self._poller = threading.Thread(target=self._poll, name="duckwifi-serve-poll", daemon=True)
            self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=1)
            if self._poller.is_alive():
                # A long refresh (a rebuilt store) would hold the shutdown, and a thread still in DuckDB when
                # the interpreter ends aborts the process: interrupt it (it rolls back), then wait for it.
                self._store.interrupt()
                self._poller.join()
            self._poller = None

    def close(self) -> None:
        self.stop()
        self._store.close()

    def _poll(self) -> None:
        # While the sketch window fills (a day a refresh, after start-up), poll again at once, unless the refresh
        # failed: then as usual, so that a publish it cannot follow is not retried without a pause.
        wait = 0.0 if self._store.filling else self._poll_interval_s
        while not self._stop.wait(wait):
            wait = self._poll_interval_s
            try:
                if self.refresh():
                    log.info("new data published: version %s", self.version)
                self._last_poll_error = None
                if self._store.filling:
                    wait = 0.0
            except Exception as error:  # the poller must survive a publish it met half-way
                if self._stop.is_set():
                    return
                # An expected condition says what it is; anything else is named by its type, as a bug would be.
                message = str(error) if isinstance(error, DuckwifiError) else f"{type(error).__name__}: {error}"
                if message != self._last_poll_error:
                    log.warning(
                        "could not follow the rollup store (keeps serving version %s): %s", self.version, message
                    )
                self._last_poll_error = message

    # -- answers ---------------------------------------------------------------------------------------

    def meta(self) -> models.Meta:
        meta = self._store.meta()
        return models.Meta(
            metrics=meta["metrics"],
            stats=meta["stats"],
            regions=meta["regions"],
            states=[models.StateRegion(**s) for s in meta["states"]],
            bands=meta["bands"],
            first_hour=_hour(meta["first_hour"]),
            last_hour=_hour(meta["last_hour"]),
            last_hour_rows=meta["last_hour_rows"],
            version=meta["version"],
        )

    def overview(self) -> models.Overview:
        o = self._store.overview()
        return models.Overview(
            first_hour=_hour(o["first_hour"]),
            last_hour=_hour(o["last_hour"]),
            hours=o["hours"],
            rows=o["rows"],
            last_hour_rows=o["last_hour_rows"],
            rows_per_hour=[models.HourRows(time=format_hour(r["time"]), rows=r["rows"]) for r in o["rows_per_hour"]],
            version=o["version"],
        )

    def newest_hour(self) -> datetime | None:
        return self._store.overview()["last_hour"]

    def holds_data(self, start: datetime, end: datetime) -> bool:
        return self._store.holds_data(start, end)

    def health(self) -> models.Health:
        seconds = self._store.seconds_since_publish()
        problem = self._last_poll_error
        return models.Health(
            status="ok" if problem is None else "stale",
            version=self.version,
            seconds_since_publish=None if seconds is None else round(seconds, 3),
            problem=problem,
            warming=self._store.filling,
        )

    def timeseries(self, query: DataQuery, bucket: str) -> models.Timeseries:
        points = _asked(
            lambda: self._store.timeseries(
                query.metric, query.stat, query.range.start, query.range.end, bucket=bucket, **query.filters()
            ),
            {**query.key(), "bucket": bucket},
        )
        # Validated as one structure (in pydantic's core), not as a Python model per point.
        return models.Timeseries.model_validate({"points": [{**p, "time": format_hour(p["time"])} for p in points]})

    def breakdown(self, query: DataQuery, by: str, limit: int, previous: Range | None) -> models.Breakdown:
        def ask(r: Range, rows: int) -> list[dict[str, Any]]:
            return _asked(
                lambda: self._store.breakdown(
                    query.metric, query.stat, by=by, start=r.start, end=r.end, limit=rows, **query.filters()
                ),
                {**query.key(), "by": by, "limit": limit},
            )

        rows = ask(query.range, limit)
        if previous is None:
            return models.Breakdown.model_validate({"rows": [{**r, "key": str(r["key"])} for r in rows]})
        # Every key of the earlier range, whatever the limit, so each shown row finds its own.
        before = {str(r["key"]): r["value"] for r in ask(previous, MAX_LIMIT)}
        return models.Breakdown.model_validate(
            {
                "rows": [
                    {
                        **r,
                        "key": str(r["key"]),
                        "previous": before.get(str(r["key"])),
                        "change": _change(r["value"], before.get(str(r["key"]))),
                    }
                    for r in rows
                ]
            }
        )

    def map_cells(self, query: DataQuery, previous: Range | None) -> list[dict[str, Any]]:
        """The cells as plain rows of ``models.Cell``'s fields (previous and change only when compared).

        Not validated into models: a map is the one answer of thousands of rows, and making a model per cell
        cost 9 ms of a 6,759-cell map (the library's answer is 10 ms); the rows are the library's, typed by
        its SQL, and the API tests check every map body against ``models.MapCells``.
        """

        def ask(r: Range) -> list[dict[str, Any]]:
            return _asked(
                lambda: self._store.map_cells(query.metric, query.stat, r.start, r.end, **query.filters()), query.key()
            )

        cells = ask(query.range)
        if previous is None:
            return cells
        before = {c["cell"]: c["value"] for c in ask(previous)}
        return [
            {**c, "previous": before.get(c["cell"]), "change": _change(c["value"], before.get(c["cell"]))}
            for c in cells
        ]

    def distribution(self, query: DataQuery) -> models.Distribution:
        answer = _asked(
            lambda: self._store.distribution(query.metric, query.range.start, query.range.end, **query.filters()),
            query.key(),
        )
        return models.Distribution(**answer)


def _change(value: float | None, previous: float | None) -> float | None:
    return None if value is None or previous is None else value - previous


def _asked(ask: Callable[[], T], inputs: Mapping[str, object]) -> T:
    """The library's answer, with its ``InvalidQuery`` (which names its parameter) as a 422 naming the API's,
    and the value that was refused (``inputs``: the request's values by API name)."""
    try:
        return ask()
    except InvalidQuery as error:
        parameter = _API_PARAMETER.get(error.parameter, error.parameter)
        message = str(error).removeprefix(f"{error.parameter}: ")
        raise refuse(parameter, message, inputs.get(parameter)) from None
