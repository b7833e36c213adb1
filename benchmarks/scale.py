"""Wall time, rows/s and peak memory of `duckwifi init`, `tick` and `convert` at a given fleet size.

Each step runs as its own process (as a user runs it), so peak RSS is that step's alone.

    python -m benchmarks.scale --devices 1000000 --repeat 3
    python -m benchmarks.scale --devices 1000000 --repeat 5 --profiles

``--profiles`` instead times one `tick` of the realistic profile against one of the uniform profile on the same
fleet, side by side: the two warehouses take turns, hour after hour, so a busy machine slows both alike.
It reports wall and CPU seconds (user + system, which other processes on the machine disturb less), the
realistic/uniform ratios of their medians, and each profile's peak RSS.
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
    elapsed, peak_mb, _cpu = _run_step_with_cpu(args)
    return elapsed, peak_mb


def _run_step_with_cpu(args: list[str]) -> tuple[float, float, float]:
    """Run one duckwifi command; return (wall seconds, peak RSS in MB, CPU seconds) of that process alone."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.execv(sys.executable, [sys.executable, "-m", "duckwifi", *args])
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"step failed: duckwifi {' '.join(args)}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


PROFILES = ("uniform", "realistic")


def measure_profiles(devices: int, repeat: int, workdir: Path) -> list[dict[str, object]]:
    """One tick of each profile on the same fleet (same seed, same points), taking turns ``repeat`` times."""
    samples: dict[str, list[tuple[float, float, float]]] = {profile: [] for profile in PROFILES}
    inits = {}
    for profile in PROFILES:
        wh = workdir / profile
        shutil.rmtree(wh, ignore_errors=True)
        inits[profile] = _run_step_with_cpu(["init", "-w", str(wh), "--devices", str(devices), "--profile", profile])
    for attempt in range(repeat):
        for profile in PROFILES:
            out = workdir / f"{profile}-csv{attempt}"
            samples[profile].append(_run_step_with_cpu(["tick", "-w", str(workdir / profile), "--out", str(out)]))
            shutil.rmtree(out, ignore_errors=True)
    results = []
    for profile, runs in samples.items():
        results.append(
            {
                "profile": profile,
                "devices": devices,
                "median_s": round(statistics.median(s[0] for s in runs), 2),
                "median_cpu_s": round(statistics.median(s[2] for s in runs), 2),
                "peak_rss_mb": round(max(s[1] for s in runs)),
                "runs": len(runs),
                "init_s": round(inits[profile][0], 2),
                "init_peak_rss_mb": round(inits[profile][1]),
            }
        )
    for profile in PROFILES:
        shutil.rmtree(workdir / profile, ignore_errors=True)
    return results


def _print_profiles(devices: list[int], repeat: int, workdir: Path) -> None:
    print("| devices | profile | median wall s | median CPU s | peak RSS MB | runs | wall ratio | CPU ratio |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for count in devices:
        uniform, realistic = measure_profiles(count, repeat, workdir)
        for row in (uniform, realistic):
            wall_ratio = row["median_s"] / uniform["median_s"]
            cpu_ratio = row["median_cpu_s"] / uniform["median_cpu_s"]
            print(
                f"| {count:,} | {row['profile']} | {row['median_s']} | {row['median_cpu_s']} | "
                f"{row['peak_rss_mb']:,} | {row['runs']} | {wall_ratio:.2f} | {cpu_ratio:.2f} |",
                flush=True,
            )
        for row in (uniform, realistic):
            print(
                f"<!-- init {row['profile']} at {count:,}: {row['init_s']} s, "
                f"peak RSS {row['init_peak_rss_mb']:,} MB -->",
                flush=True,
            )


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
    parser.add_argument(
        "--profiles", action="store_true", help="time a realistic tick against a uniform one, side by side"
    )
    options = parser.parse_args()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="duckwifi-bench-"))
    print(f"# {os.cpu_count()} cores, {resource.getpagesize()} B pages, python {sys.version.split()[0]}")
    if options.profiles:
        _print_profiles(options.devices, options.repeat, workdir)
        return
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
