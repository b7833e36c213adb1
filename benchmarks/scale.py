"""Wall time, rows/s and peak memory of `duckwifi init`, `tick` and `convert` at a given fleet size.

Each step runs as its own process (as a user runs it), so peak RSS is that step's alone.

    python -m benchmarks.scale --devices 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _run_step(args: list[str]) -> tuple[float, float]:
    """Run one duckwifi command; return (wall seconds, peak RSS in MB) of that process alone."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.execv(sys.executable, [sys.executable, "-m", "duckwifi", *args])
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"step failed: duckwifi {' '.join(args)}")
    return elapsed, usage.ru_maxrss / 1024


def measure(devices: int, repeat: int, workdir: Path) -> list[dict[str, object]]:
    rows: dict[str, list[tuple[float, float]]] = {"init": [], "tick": [], "convert": []}
    for attempt in range(repeat):
        run_dir = workdir / f"run{attempt}"
        shutil.rmtree(run_dir, ignore_errors=True)
        wh, csv, lake = run_dir / "wh", run_dir / "csv", run_dir / "lake"
        rows["init"].append(_run_step(["init", "-w", str(wh), "--devices", str(devices)]))
        rows["tick"].append(_run_step(["tick", "-w", str(wh), "--out", str(csv)]))
        rows["convert"].append(_run_step(["convert", str(csv), str(lake), "-w", str(wh)]))
        csv_mb = sum(p.stat().st_size for p in csv.glob("*.csv")) / 1e6
        lake_mb = sum(p.stat().st_size for p in lake.rglob("*.parquet")) / 1e6
        shutil.rmtree(run_dir, ignore_errors=True)
    results = []
    for step, samples in rows.items():
        wall = statistics.median(s[0] for s in samples)
        results.append(
            {
                "step": step,
                "devices": devices,
                "median_s": round(wall, 2),
                "rows_per_s": round(devices / wall),
                "peak_rss_mb": round(max(s[1] for s in samples)),
                "runs": len(samples),
            }
        )
    results.append({"step": "sizes", "csv_mb": round(csv_mb), "lake_mb": round(lake_mb)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    options = parser.parse_args()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="duckwifi-bench-"))
    print(f"# {os.cpu_count()} cores, {resource.getpagesize()} B pages, python {sys.version.split()[0]}")
    print("| step | devices | median s | rows/s | peak RSS MB | runs |")
    print("|---|---:|---:|---:|---:|---:|")
    for devices in options.devices:
        for row in measure(devices, options.repeat, workdir):
            if row["step"] == "sizes":
                print(f"<!-- sizes at {devices:,}: CSV {row['csv_mb']} MB, lake {row['lake_mb']} MB -->")
                continue
            print(
                f"| {row['step']} | {row['devices']:,} | {row['median_s']} | {row['rows_per_s']:,} | "
                f"{row['peak_rss_mb']:,} | {row['runs']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
