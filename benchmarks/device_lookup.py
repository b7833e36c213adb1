"""How fast `/api/devices/{site}` reads one device's rows from the raw lake (24 hours by default).

    flock /work/bench.lock .venv/bin/python -m benchmarks.device_lookup --warehouse W --lookups 200

Times the lookup behind the endpoint (``DeviceReader.rows``) for random sites over the newest 24 hours, warm
(each site asked once before timing, so the OS cache holds the files), in three ways: as served (the state's
partitions only, then row-group statistics on site), without the state pruning (every state's files of those
hours), and the raw ``telemetry`` view with a filter on site and the hour range, the baseline.

``--replicate-newest-hour`` measures 24 hours without converting them: it makes a lake of the newest hour's day
whose 24 hour folders are hard links to the newest hour's partitions (beside the lake, removed afterwards), so a
look-up reads exactly the files, sizes and row groups of 24 real hours of that fleet (one row per folder: the
rows keep their own hour). One 20M-device hour is 3.2 GB of CSV; 24 would be 77 GB. The baseline reads the
warehouse's own lake, so it is left out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from duckwifi.api.devices import DeviceReader
from duckwifi.readers import reader_connection
from duckwifi.warehouse import Warehouse, registered_lake


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[round(0.95 * (len(ordered) - 1))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def _replicated_lake(lake: Path, newest: datetime, root: Path) -> datetime:
    """Fill ``root`` with 24 hour folders of ``newest``'s day, each hard links to the newest hour's partitions;
    returns the day's first hour."""
    source = lake / f"date={newest:%d-%m-%y}" / f"hour={newest.hour}"
    day = newest.replace(hour=0)
    for hour in range(24):
        for file in source.rglob("*.parquet"):
            target = root / f"date={day:%d-%m-%y}" / f"hour={hour}" / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(file, target)
    return day


def run(warehouse_root: Path, lookups: int, seed: int, replicate: bool = False) -> dict:
    warehouse = Warehouse(warehouse_root)
    lake = registered_lake(warehouse)
    assert lake is not None, "the warehouse has no lake"
    finder = DeviceReader(lake, None)
    newest = finder.newest_hour()
    finder.close()
    assert newest is not None, "the lake is empty"
    if not replicate:
        end = newest + timedelta(hours=1)
        return _measure(warehouse, lake, end - timedelta(hours=24), end, lookups, seed, baseline=True)
    with tempfile.TemporaryDirectory(prefix=".device-lookup-", dir=lake.parent) as folder:
        day = _replicated_lake(lake, newest, Path(folder))
        result = _measure(warehouse, Path(folder), day, day + timedelta(hours=24), lookups, seed, baseline=False)
    return {**result, "lake": f"24 hard-linked copies of {newest:%Y-%m-%dT%H:%M:%S}"}


def _measure(
    warehouse: Warehouse, lake: Path, start: datetime, end: datetime, lookups: int, seed: int, *, baseline: bool
) -> dict:
    served = DeviceReader(lake, warehouse.devices_parquet)
    unpruned = DeviceReader(lake, None)
    devices = len(
        served._cursor().execute("SELECT 1 FROM read_parquet($p)", {"p": str(warehouse.devices_parquet)}).fetchall()
    )
    rng = random.Random(seed)
    sites = [rng.randint(1, devices) for _ in range(lookups)]
    view = reader_connection(warehouse)

    def through_view(site: int) -> None:
        view.execute(
            "SELECT * FROM telemetry_between($s, $e) WHERE site = $site ORDER BY datetime",
            {"s": start, "e": end, "site": site},
        ).fetchall()

    ways = [
        ("served (state partitions + row-group stats)", lambda s: served.rows(s, start, end), lookups),
        ("without state pruning", lambda s: unpruned.rows(s, start, end), max(10, lookups // 10)),
    ]
    if baseline:
        ways.append(("telemetry view (baseline)", through_view, max(10, lookups // 10)))
    results: dict[str, dict[str, float]] = {}
    for name, ask, count in ways:
        chosen = sites[:count]
        for site in chosen:  # warm: the files once in the OS cache
            ask(site)
        samples = []
        for site in chosen:
            t0 = time.perf_counter()
            ask(site)
            samples.append(time.perf_counter() - t0)
        results[name] = {"lookups": count, **_summary(samples)}
    files = {
        "served": len(served.files_for(sites[0], start, end)),
        "without state pruning": len(unpruned.files_for(sites[0], start, end)),
    }
    rows = len(served.rows(sites[0], start, end))
    served.close()
    unpruned.close()
    return {"devices": devices, "hours": 24, "rows_per_lookup": rows, "files_read": files, "timings": results}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--replicate-newest-hour",
        action="store_true",
        help="measure 24 hours made of hard links to the newest hour's partitions (no baseline)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = run(args.warehouse, args.lookups, args.seed, args.replicate_newest_hour)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"device_lookup_{result['devices']}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
