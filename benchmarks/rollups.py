"""Rollups: what they cost `convert`, how fast the query library answers, how big the store is.

    python -m benchmarks.rollups convert-cost --devices 1000000 --repeat 3 --workdir /tmp/rc
    python -m benchmarks.rollups statement-cost LAKE --repeat 3
    python -m benchmarks.rollups replicate WAREHOUSE STORE --days 30
    python -m benchmarks.rollups queries STORE --warehouse WAREHOUSE --repeat 40 --out docs/benchmarks
    python -m benchmarks.rollups load-time STORE --repeat 3

``convert-cost`` converts the same hour with rollups and without (the converter's rollup hooks switched off
in that process only) and runs the Polars peers of the whole ingest job on the same CSV (the partitioned
sink plus the same rollup statistics, ``benchmarks/peers.py``), in turns, each step its own process.
``replicate`` makes a 30-day store from a warehouse whose lake holds 24 real hours: each unit is copied 30
times with its hours shifted by whole days, so the store has the group counts of 720 real hours of that
fleet. ``queries`` times every query shape of
the library on that store (p50/p95 of ``--repeat`` calls, metrics varied), the same questions of the raw
lake of the 24 real hours, the store's load and refresh, its size on disk and the serving process's memory.
``load-time`` writes the day digests of STORE (timing each day), then cold-loads a ``ServingStore`` in a fresh
process with the digests and without them (moved aside), in turns: wall seconds and peak RSS of each load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any


def _run(args: list[str]) -> tuple[float, float]:
    """Run ``python -m ...args`` as its own process; (wall seconds, peak RSS MB)."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        # The step's data output (paths) would mix with this harness's JSON on stdout.
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.execv(sys.executable, [sys.executable, "-m", *args])
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"step failed: {' '.join(args)}")
    return elapsed, usage.ru_maxrss / 1024


def convert_without_rollups(src: str, lake: str, warehouse: str) -> None:
    """`duckwifi convert` with the rollup hooks switched off (this process only): the baseline."""
    from duckwifi.rollups import hooks

    hooks.stage = lambda *args, **kwargs: None  # type: ignore[assignment]
    hooks.publish = lambda *args, **kwargs: None  # type: ignore[assignment]
    from duckwifi.cli import app

    app(["convert", src, lake, "--warehouse", warehouse], standalone_mode=True)


PEERS = {
    "Polars ingest, reread": "ingest-polars-reread",
    "Polars ingest, one pass": "ingest-polars",
}


def convert_cost(devices: int, repeat: int, workdir: Path, peers: list[str] | None = None) -> dict[str, Any]:
    """The same hour converted with rollups, without them, and by each Polars ingest peer, in turns."""
    base = workdir / "base"
    shutil.rmtree(workdir, ignore_errors=True)
    _run(["duckwifi", "init", "-w", str(base / "wh"), "--devices", str(devices)])
    _run(["duckwifi", "tick", "-w", str(base / "wh"), "--out", str(base / "csv")])
    (csv,) = (base / "csv").glob("*.csv")
    chosen = [label for label, step in PEERS.items() if peers is None or step in peers]
    samples: dict[str, list[tuple[float, float]]] = {"with rollups": [], "without rollups": []}
    samples.update({label: [] for label in chosen})
    store_bytes = 0
    for attempt in range(repeat):
        for label in samples:
            run = workdir / f"{label.replace(' ', '_').replace(',', '')}{attempt}"
            if label == "with rollups":
                shutil.copytree(base / "wh", run / "wh")
                args = ["duckwifi", "convert", str(base / "csv"), str(run / "lake"), "-w", str(run / "wh")]
            elif label == "without rollups":
                shutil.copytree(base / "wh", run / "wh")
                args = [
                    "benchmarks.rollups",
                    "_convert-without-rollups",
                    str(base / "csv"),
                    str(run / "lake"),
                    str(run / "wh"),
                ]
            else:
                run.mkdir(parents=True)
                args = ["benchmarks.peers", PEERS[label], str(csv), str(run / "lake")]
            samples[label].append(_run(args))
            if label == "with rollups":
                store_bytes = _size(run / "wh" / "rollups")
            shutil.rmtree(run)
    result: dict[str, Any] = {"devices": devices, "runs": repeat, "store_bytes_per_hour": store_bytes}
    for label, values in samples.items():
        result[label] = {
            "median_s": round(statistics.median(v[0] for v in values), 2),
            "all_s": [round(v[0], 2) for v in values],
            "peak_rss_mb": round(max(v[1] for v in values)),
        }
    with_s, without_s = result["with rollups"]["median_s"], result["without rollups"]["median_s"]
    result["added_pct"] = round(100 * (with_s - without_s) / without_s, 1)
    # Above 1, duckwifi convert with rollups does the whole ingest job faster than the peer.
    result["duckwifi_over_peer"] = {label: round(result[label]["median_s"] / with_s, 2) for label in chosen}
    return result


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def replicate(warehouse: Path, store: Path, days: int) -> dict[str, Any]:
    """A ``days``-day store from the 24 hours of ``warehouse``'s rollups, hours shifted by whole days."""
    import duckdb

    from duckwifi.rollups import store as rollup_store
    from duckwifi.warehouse import Warehouse

    source = rollup_store.read_manifest(Warehouse(warehouse))
    # Only the first day's units: an hour past it, shifted by whole days, would land on a later day's midnight
    # and hold that hour twice.
    first = min(h for u in source.units for h in u.hours)
    day_units = [u for u in source.units if max(u.hours) < first + timedelta(days=1)]
    target = Warehouse(store)
    shutil.rmtree(store, ignore_errors=True)
    units = []
    started = time.perf_counter()
    with duckdb.connect() as con:
        for day in range(days):
            for unit in day_units:
                name = f"{unit.unit}-d{day:02d}"
                folder = store / "rollups" / rollup_store.UNITS_DIR / name
                folder.mkdir(parents=True)
                for table in rollup_store.TABLES:
                    con.execute(
                        "COPY (SELECT * REPLACE (hour + to_days(CAST($day AS INTEGER)) AS hour) "
                        "FROM read_parquet($src)) TO $dst (FORMAT parquet, COMPRESSION zstd)",
                        {
                            "day": day,
                            "src": str(unit.path(warehouse / "rollups", table)),
                            "dst": str(folder / f"{table}.parquet"),
                        },
                    )
                shifted = rollup_store.Unit(
                    name,
                    f"{unit.source}#day{day}",
                    unit.sha256,
                    unit.rows,
                    tuple(h + timedelta(days=day) for h in unit.hours),
                )
                rollup_store.write_unit_info(folder, shifted)
                units.append(shifted)
    manifest = rollup_store.publish(target, units, lake=source.lake, replace_all=True)
    return {
        "units": len(manifest.units),
        "hours": len({h for u in manifest.units for h in u.hours}),
        "bytes": _size(store / "rollups"),
        "by_table_bytes": {
            t: sum(p.stat().st_size for p in (store / "rollups").rglob(f"{t}.parquet")) for t in rollup_store.TABLES
        },
        "seconds": round(time.perf_counter() - started, 1),
    }


def load_time(store: Path, repeat: int) -> dict[str, Any]:
    """Digest writing per day, then cold loads with and without digests, in turns, each its own process."""
    from duckwifi.rollups import digests
    from duckwifi.rollups.store import read_manifest
    from duckwifi.warehouse import Warehouse

    target = Warehouse(store)
    folder = digests.digests_dir(target)
    shutil.rmtree(folder, ignore_errors=True)
    manifest = read_manifest(target)
    by_day = digests.units_by_day(manifest)
    per_day = []
    for day in digests.complete_days(manifest):
        began = time.perf_counter()
        digests.write_digest(target, day, by_day[day])
        per_day.append(time.perf_counter() - began)
    aside = store / "digests-aside"
    loads: dict[str, list[tuple[float, float]]] = {"with digests": [], "without digests": []}
    for _ in range(repeat):
        loads["with digests"].append(_run(["benchmarks.rollups", "_load", str(store)]))
        folder.rename(aside)
        try:
            loads["without digests"].append(_run(["benchmarks.rollups", "_load", str(store)]))
        finally:
            aside.rename(folder)
    return {
        "digest_days": len(per_day),
        "digest_s_per_day": {
            "median": round(statistics.median(per_day), 2),
            "min": round(min(per_day), 2),
            "max": round(max(per_day), 2),
        }
        if per_day
        else None,
        "digest_bytes": _size(folder),
        "store_bytes": _size(store / "rollups") - _size(folder),
        **{
            name: {
                "load_s_median": round(statistics.median(s for s, _ in runs), 1),
                "peak_rss_mb_median": round(statistics.median(m for _, m in runs)),
                "runs": [{"s": round(s, 1), "peak_rss_mb": round(m)} for s, m in runs],
            }
            for name, runs in loads.items()
        },
    }


def _load(store: str) -> None:
    from duckwifi.serving import ServingStore

    ServingStore(Path(store)).close()


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "max_ms": round(1000 * ordered[-1], 2),
    }


def _shapes(last: datetime) -> dict[str, Callable[[Any, str], Any]]:
    """The dashboard's query shapes; ``last`` is the store's newest hour."""
    end = last + timedelta(hours=1)
    day_ago, month_ago = end - timedelta(hours=24), end - timedelta(days=30)
    # A live dashboard's ranges end at the newest hour, mid-day as a rule: ranges ending 11 hours earlier. The
    # long one is 29 days, so that it starts inside a 30-day store: mid-day, with hours older than the window.
    live_end = end - timedelta(hours=11)
    return {
        "timeseries 30 d by hour, nation, avg": lambda s, m: s.timeseries(m, "avg", month_ago, end),
        "timeseries 30 d by hour, nation, p99": lambda s, m: s.timeseries(m, "p99", month_ago, end),
        "timeseries 30 d by hour, one state, p90": lambda s, m: s.timeseries(m, "p90", month_ago, end, state="TX"),
        "timeseries 30 d by hour, one region, p50": lambda s, m: s.timeseries(m, "p50", month_ago, end, region="West"),
        "timeseries 30 d by day, state + band, stddev": lambda s, m: s.timeseries(
            m, "stddev", month_ago, end, bucket="day", state=["CA", "NV"], band=[1, 2, 3]
        ),
        "breakdown 30 d by state, avg": lambda s, m: s.breakdown(m, "avg", "state", month_ago, end),
        "breakdown 30 d by state, p99": lambda s, m: s.breakdown(m, "p99", "state", month_ago, end),
        "breakdown 29 d by state, p99, mid-day to mid-day": lambda s, m: s.breakdown(
            m, "p99", "state", live_end - timedelta(days=29), live_end
        ),
        "breakdown 30 d by band, max": lambda s, m: s.breakdown(m, "max", "band", month_ago, end),
        "breakdown 24 h by region, p90": lambda s, m: s.breakdown(m, "p90", "region", day_ago, end),
        "map 24 h, avg": lambda s, m: s.map_cells(m, "avg", day_ago, end),
        "map 24 h ending mid-day, avg": lambda s, m: s.map_cells(m, "avg", live_end - timedelta(hours=24), live_end),
        "map 30 d, avg": lambda s, m: s.map_cells(m, "avg", month_ago, end),
        "distribution 30 d, nation": lambda s, m: s.distribution(m, month_ago, end),
        "distribution 24 h, one state": lambda s, m: s.distribution(m, day_ago, end, state="CA"),
        "p99 over 30 d, nation": lambda s, m: s.breakdown(m, "p99", "region", month_ago, end, region=None),
        "overview": lambda s, m: s.overview(),
    }


RAW_SHAPES = {
    "timeseries 24 h by hour, nation, avg": "SELECT date_trunc('hour', datetime) t, avg(metric_3) FROM telemetry "
    "GROUP BY t ORDER BY t",
    "timeseries 24 h by hour, nation, p99": "SELECT date_trunc('hour', datetime) t, quantile_disc(metric_3, 0.99) "
    "FROM telemetry GROUP BY t ORDER BY t",
    "breakdown 24 h by state, avg": "SELECT state, avg(metric_3) v FROM telemetry GROUP BY state ORDER BY v DESC",
    "breakdown 24 h by state, p99": "SELECT state, quantile_disc(metric_3, 0.99) v FROM telemetry GROUP BY state",
    "map 24 h, avg": "SELECT round(latitude / 0.3), round(longitude / 0.3), avg(metric_3) FROM telemetry GROUP BY 1, 2",
    "distribution 24 h, nation": "SELECT quantile_disc(metric_3, [0.5, 0.9, 0.99]) FROM telemetry",
}
SERVED_EQUIVALENT = {
    "timeseries 24 h by hour, nation, avg": lambda s, a, b: s.timeseries("metric_3", "avg", a, b),
    "timeseries 24 h by hour, nation, p99": lambda s, a, b: s.timeseries("metric_3", "p99", a, b),
    "breakdown 24 h by state, avg": lambda s, a, b: s.breakdown("metric_3", "avg", "state", a, b),
    "breakdown 24 h by state, p99": lambda s, a, b: s.breakdown("metric_3", "p99", "state", a, b),
    "map 24 h, avg": lambda s, a, b: s.map_cells("metric_3", "avg", a, b),
    "distribution 24 h, nation": lambda s, a, b: s.distribution("metric_3", a, b),
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _resident_mb() -> float:
    """This process's resident memory now (Linux), not its peak: what a loaded store keeps."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def queries(store: Path, warehouse: Path, repeat: int) -> dict[str, Any]:
    import duckdb

    from duckwifi.serving import ServingStore

    rss_before = _rss_mb()
    started = time.perf_counter()
    served = ServingStore(store, fill=False)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    served.fill()
    fill_s = time.perf_counter() - started
    print(f"loaded in {load_s:.1f} s, sketch window filled in {fill_s:.1f} s", file=sys.stderr, flush=True)
    overview = served.overview()
    last = overview["last_hour"]
    results: dict[str, Any] = {
        "store_hours": overview["hours"],
        "store_rows": overview["rows"],
        "load_s": round(load_s, 1),
        "fill_s": round(fill_s, 1),
        "peak_rss_mb_after_load": round(_rss_mb()),
        "rss_mb_after_load": round(_resident_mb()),
        "rss_mb_before_load": round(rss_before),
        "shapes": {},
    }
    metrics = [f"metric_{k}" for k in range(1, 21)]
    for name, shape in _shapes(last).items():
        shape(served, "metric_1")  # warm
        samples = []
        # A state's hourly quantiles over 30 days read 29 days of state-level sketches from the unit files.
        for i in range(3 if "by hour, one state" in name else repeat):
            began = time.perf_counter()
            shape(served, metrics[i % 20])
            samples.append(time.perf_counter() - began)
        results["shapes"][name] = _percentiles(samples)
    # Refresh after one more source is published: the incremental load of a new hour.
    results["refresh_one_new_hour_s"] = _refresh_one(store, served)
    # The raw lake of the 24 real hours, asked the same questions through the telemetry view.
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        first_real = con.execute("SELECT min(datetime) FROM telemetry").fetchone()[0]
        raw: dict[str, Any] = {}
        for name, sql in RAW_SHAPES.items():
            con.execute(sql).fetchall()
            samples = []
            for _ in range(max(3, repeat // 10)):
                began = time.perf_counter()
                con.execute(sql).fetchall()
                samples.append(time.perf_counter() - began)
            served_samples = []
            for _ in range(repeat):
                began = time.perf_counter()
                SERVED_EQUIVALENT[name](served, first_real, first_real + timedelta(hours=24))
                served_samples.append(time.perf_counter() - began)
            raw[name] = {
                "raw_lake": _percentiles(samples),
                "served": _percentiles(served_samples),
                "speed_up_p50": round(statistics.median(samples) / statistics.median(served_samples)),
            }
    results["raw_baseline_24h"] = raw
    results["store_bytes"] = _size(store / "rollups")
    return results


def _refresh_one(store: Path, served: Any) -> float:
    from duckwifi.rollups import store as rollup_store
    from duckwifi.warehouse import Warehouse

    target = Warehouse(store)
    manifest = rollup_store.read_manifest(target)
    newest = max(manifest.units, key=lambda u: max(u.hours))
    name = f"{newest.unit}-next"
    folder = store / "rollups" / rollup_store.UNITS_DIR / name
    shutil.copytree(store / "rollups" / rollup_store.UNITS_DIR / newest.unit, folder)
    unit = rollup_store.Unit(name, newest.source + "#copy", newest.sha256, newest.rows, newest.hours)
    rollup_store.write_unit_info(folder, unit)
    rollup_store.publish(target, [unit])
    began = time.perf_counter()
    served.refresh()
    elapsed = time.perf_counter() - began
    rollup_store.remove_sources(target, [unit.source])
    served.refresh()
    return round(elapsed, 2)


def statement_cost(lake: Path, repeat: int) -> dict[str, Any]:
    """Each rollup statement of one lake hour alone (median of ``repeat``), and the cost of reading it again.

    "read again" decodes every column the rollups read (datetime, coordinates, band and the 20 metrics)
    from the hour's Parquet and sums them, so that no column can be skipped: the floor of any design that
    reads the staged files a second time.
    """
    import duckdb

    from duckwifi import queries
    from duckwifi.rollups.production import install_macros
    from duckwifi.rollups.store import TABLES

    files = sorted(str(p) for p in lake.glob("date=*/hour=*/**/*.parquet"))
    metrics = " + ".join(f"sum(metric_{k})" for k in range(1, 21))
    read_again = (
        f"SELECT count(datetime), sum(latitude), sum(longitude), sum(band), {metrics} FROM read_parquet($files)"
    )
    times: dict[str, list[float]] = {"read again": [], **{table: [] for table in TABLES}}
    with tempfile.TemporaryDirectory() as scratch, duckdb.connect() as con:
        install_macros(con)
        # As stage_source does.
        con.execute(queries.load("rollups/set_parquet_metadata_cache.sql"), {"enabled": True})
        for _ in range(repeat):
            began = time.perf_counter()
            con.execute(read_again, {"files": files}).fetchall()
            times["read again"].append(time.perf_counter() - began)
            for table in TABLES:
                began = time.perf_counter()
                con.execute(
                    queries.load(f"rollups/write_{table}.sql"),
                    {"files": files, "target": str(Path(scratch) / f"{table}.parquet")},
                )
                times[table].append(time.perf_counter() - began)
    result: dict[str, Any] = {"files": len(files), "runs": repeat}
    result.update({name: round(statistics.median(values), 3) for name, values in times.items()})
    result["rollups"] = round(sum(result[table] for table in TABLES), 3)
    return result


def cell_cost(lake: Path) -> dict[str, Any]:
    """The map cell of one hour's rows: the SQL equal-area grid per row, against H3 per distinct coordinate."""
    import duckdb

    from duckwifi.rollups.production import install_macros

    hour = sorted(lake.glob("date=*/hour=0"))[0]  # any one hour: the lake may hold several days
    files = sorted(str(p) for p in hour.glob("**/*.parquet"))
    result: dict[str, Any] = {"files": len(files)}
    with duckdb.connect() as con:
        install_macros(con)
        began = time.perf_counter()
        rows, cells = con.execute(
            "SELECT count(*), count(DISTINCT (r, c)) FROM (SELECT rollup_cell_row(latitude) AS r, "
            "rollup_cell_col(rollup_cell_row(latitude), longitude) AS c FROM read_parquet($f))",
            {"f": files},
        ).fetchone()
        result["sql_grid"] = {"rows": rows, "cells": cells, "seconds": round(time.perf_counter() - began, 2)}
        began = time.perf_counter()
        points = con.execute(
            "SELECT DISTINCT CAST(latitude AS DOUBLE), CAST(longitude AS DOUBLE) FROM read_parquet($f)", {"f": files}
        ).fetchall()
        distinct_s = time.perf_counter() - began
    try:
        import h3
    except ImportError:
        return result
    for resolution in (4, 5):
        began = time.perf_counter()
        found = {h3.latlng_to_cell(lat, lon, resolution) for lat, lon in points}
        result[f"h3_res{resolution}"] = {
            "distinct_points": len(points),
            "cells": len(found),
            "seconds_distinct": round(distinct_s, 2),
            "seconds_h3": round(time.perf_counter() - began, 2),
        }
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.rollups")
    sub = parser.add_subparsers(dest="command", required=True)
    cost = sub.add_parser("convert-cost")
    cost.add_argument("--devices", type=int, default=1_000_000)
    cost.add_argument("--repeat", type=int, default=3)
    cost.add_argument("--workdir", type=Path, default=Path("/tmp/duckwifi-rollup-cost"))
    cost.add_argument(
        "--peers",
        nargs="*",
        choices=sorted(PEERS.values()),
        default=None,
        help="the Polars ingest peers to run in the same turns (default: all; none: --peers with no name)",
    )
    rep = sub.add_parser("replicate")
    rep.add_argument("warehouse", type=Path)
    rep.add_argument("store", type=Path)
    rep.add_argument("--days", type=int, default=30)
    ask = sub.add_parser("queries")
    ask.add_argument("store", type=Path)
    ask.add_argument("--warehouse", type=Path, required=True)
    ask.add_argument("--repeat", type=int, default=40)
    for each in (cost, rep, ask):
        each.add_argument("--out", type=Path, default=None, help="append the result to OUT/rollups.json")
    loading = sub.add_parser("load-time")
    loading.add_argument("store", type=Path)
    loading.add_argument("--repeat", type=int, default=3)
    loading.add_argument("--out", type=Path, default=None)
    hidden_load = sub.add_parser("_load")
    hidden_load.add_argument("store")
    statements = sub.add_parser("statement-cost")
    statements.add_argument("lake", type=Path)
    statements.add_argument("--repeat", type=int, default=3)
    statements.add_argument("--out", type=Path, default=None)
    cells = sub.add_parser("cell-cost")
    cells.add_argument("lake", type=Path)
    cells.add_argument("--out", type=Path, default=None)
    hidden = sub.add_parser("_convert-without-rollups")
    hidden.add_argument("src")
    hidden.add_argument("lake")
    hidden.add_argument("warehouse")
    args = parser.parse_args(argv)
    if args.command == "_convert-without-rollups":
        convert_without_rollups(args.src, args.lake, args.warehouse)
        return
    if args.command == "_load":
        _load(args.store)
        return
    if args.command == "convert-cost":
        result = {"convert-cost": convert_cost(args.devices, args.repeat, args.workdir, args.peers)}
    elif args.command == "statement-cost":
        result = {"statement-cost": statement_cost(args.lake, args.repeat)}
    elif args.command == "cell-cost":
        result = {"cell-cost": cell_cost(args.lake)}
    elif args.command == "load-time":
        result = {"load-time": load_time(args.store, args.repeat)}
    elif args.command == "replicate":
        result = {"replicate": replicate(args.warehouse, args.store, args.days)}
    else:
        result = {"queries": queries(args.store, args.warehouse, args.repeat)}
    text = json.dumps(result, indent=1, default=str)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "rollups.json"
        previous = json.loads(path.read_text()) if path.exists() else []
        previous.append({"when": datetime.now().isoformat(timespec="seconds"), **result})
        path.write_text(json.dumps(previous, indent=1, default=str))


if __name__ == "__main__":
    main()
