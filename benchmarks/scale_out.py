"""Scale-out on Dask: `convert` locally, with `--workers 1` and with `--workers 2`, on the same files.

Measures, each step as its own `duckwifi` process (as a user runs it), configurations taking turns:

- ``files``: 24 hourly files of ``--devices`` rows (generated once into ``--data`` and reused);
- ``start-up``: the same command on an empty source folder, so the cluster's start (and stop) is measured
  apart from the work; the Dask path's overhead is then ``(wall - start-up) / local wall - 1``;
- ``per-task``: ``--small-files`` files of 1,000 rows, where the per-file cost of a task (scheduling, a
  DuckDB instance on the worker, the round trip to the client) dominates.

    flock /work/bench.lock python -m benchmarks.scale_out --devices 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

CONFIGS: dict[str, list[str]] = {"local": [], "workers-1": ["--workers", "1"], "workers-2": ["--workers", "2"]}


def _run(args: list[str | Path]) -> tuple[float, float]:
    """Run one duckwifi command; (wall s, CPU s of it and its children, Dask workers included)."""
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execv(sys.executable, [sys.executable, "-m", "duckwifi", *map(str, args)])
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"step failed: duckwifi {' '.join(map(str, args))}")
    return wall, usage.ru_utime + usage.ru_stime


def ensure_files(data: Path, devices: int, hours: int, profile: str) -> Path:
    """``hours`` hourly CSVs of ``devices`` rows of the generator's ``profile`` in ``data``, generated once and
    reused (the folder names the profile, so files of another profile are never measured by mistake)."""
    csv = data / f"csv-{profile}-{devices}"
    if len(list(csv.glob("*.csv"))) == hours:
        return csv
    warehouse = data / f"wh-{profile}-{devices}"
    shutil.rmtree(warehouse, ignore_errors=True)
    shutil.rmtree(csv, ignore_errors=True)
    _run(["init", "-w", warehouse, "--devices", devices, "--profile", profile])
    _run(["tick", "-w", warehouse, "--out", csv, "--hours", hours])
    return csv


def _convert(csv: Path, work: Path, extra: list[str]) -> tuple[float, float]:
    shutil.rmtree(work, ignore_errors=True)
    try:
        return _run(["convert", csv, work / "lake", "-w", work / "wh", *extra])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(data: Path, devices: int, hours: int, small_files: int, repeat: int, profile: str) -> dict[str, object]:
    big = ensure_files(data, devices, hours, profile)
    small = ensure_files(data, 1_000, small_files, profile)
    empty = data / "empty"
    empty.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="duckwifi-scale-out-"))
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {
        case: {name: [] for name in CONFIGS} for case in ("files", "start-up", "per-task")
    }
    for _ in range(repeat):
        for name, extra in CONFIGS.items():  # configurations take turns, so a slow minute hits all alike
            samples["start-up"][name].append(_convert(empty, work, extra))
            samples["per-task"][name].append(_convert(small, work, extra))
            samples["files"][name].append(_convert(big, work, extra))
    shutil.rmtree(work, ignore_errors=True)
    medians = {
        case: {
            name: {
                "wall_s": round(statistics.median(s[0] for s in runs), 3),
                "cpu_s": round(statistics.median(s[1] for s in runs), 3),
                "walls": [round(s[0], 3) for s in runs],
            }
            for name, runs in by_config.items()
        }
        for case, by_config in samples.items()
    }
    local = medians["files"]["local"]["wall_s"]
    derived: dict[str, dict[str, float]] = {}
    for name in CONFIGS:
        start_up = medians["start-up"][name]["wall_s"] - medians["start-up"]["local"]["wall_s"]
        work_s = medians["files"][name]["wall_s"] - start_up
        per_task = (medians["per-task"][name]["wall_s"] - medians["start-up"][name]["wall_s"]) - (
            medians["per-task"]["local"]["wall_s"] - medians["start-up"]["local"]["wall_s"]
        )
        derived[name] = {
            "cluster_start_s": round(start_up, 3),
            "work_s": round(work_s, 3),
            "overhead_vs_local_pct": round(100 * (work_s / local - 1), 1),
            "per_file_s": round(work_s / hours, 3),
            "extra_per_small_file_ms": round(1000 * per_task / small_files, 1),
        }
    return {
        "cores": os.cpu_count(),
        "profile": profile,
        "devices": devices,
        "files": hours,
        "small_files": small_files,
        "repeat": repeat,
        "csv_mb": round(sum(p.stat().st_size for p in big.glob("*.csv")) / 1e6),
        "medians": medians,
        "derived": derived,
    }


def _noop(index: int) -> int:
    return index


def dask_task_overhead(tasks: int, workers: int = 2) -> dict[str, float]:
    """Dask's own cost per task: ``tasks`` no-op tasks through a local cluster, submitted at once and each
    result fetched as it completes (as convert does), after the cluster is up."""
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit=0
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.gather(client.map(_noop, range(workers * 4), pure=False))  # warm: functions shipped
        started = time.perf_counter()
        futures = client.map(_noop, range(tasks), pure=False)
        for future in distributed.as_completed(futures):
            future.result()
        elapsed = time.perf_counter() - started
    return {
        "tasks": tasks,
        "workers": workers,
        "wall_s": round(elapsed, 3),
        "ms_per_task": round(1000 * elapsed / tasks, 3),
    }


def to_markdown(result: dict[str, object]) -> str:
    medians = result["medians"]
    derived = result["derived"]
    assert isinstance(medians, dict)
    assert isinstance(derived, dict)
    lines = [
        f"{result['files']} files of {result['devices']:,} rows of the {result['profile']} profile "
        f"({result['csv_mb']} MB of CSV), "
        f"{result['cores']} cores, median of {result['repeat']}",
        "",
        "| run | wall s | CPU s | cluster start s | work s | overhead vs local | s per file | "
        "extra ms per small file |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in CONFIGS:
        files, d = medians["files"][name], derived[name]
        lines.append(
            f"| {name} | {files['wall_s']} | {files['cpu_s']} | {d['cluster_start_s']} | {d['work_s']} | "
            f"{d['overhead_vs_local_pct']}% | {d['per_file_s']} | {d['extra_per_small_file_ms']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--small-files", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", default="realistic", help="The generator's profile (init --profile).")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "duckwifi-scale-out-data")
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures here.")
    parser.add_argument("--dask-noop", type=int, default=0, help="Only measure Dask's cost per no-op task.")
    options = parser.parse_args()
    if options.dask_noop:
        print(json.dumps(dask_task_overhead(options.dask_noop)))
        return
    options.data.mkdir(parents=True, exist_ok=True)
    result = measure(options.data, options.devices, options.files, options.small_files, options.repeat, options.profile)
    if options.json is not None:
        options.json.write_text(json.dumps(result, indent=2) + "\n")
    print(to_markdown(result))


if __name__ == "__main__":
    main()
