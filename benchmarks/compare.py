"""duckwifi against its peers, and against the machine's floor, on identical input in one run.

    python -m benchmarks.compare --devices 1000000 5000000 20000000 --repeat 3 --out docs/benchmarks

For each fleet size: `duckwifi tick` against numpy + Polars `write_csv` (same CSV), and `duckwifi convert`
against Polars' partitioned sink and `pyarrow.dataset.write_dataset` (same lake layout), each step in its own
process so that its peak RSS is its own. Medians of --repeat runs; ratios are duckwifi's throughput over the
peer's, measured in the same run so that they hold on a noisy machine. It also measures the floor: raw disk
write speed, DuckDB's CSV scan alone and a Parquet write alone. Writes results.json, results.md and
throughput.png into --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from duckwifi import queries

PYARROW_MAX_DEVICES = 5_000_000  # pyarrow materialises the whole table: beyond this it needs > 3 GB


@dataclass
class Measurement:
    devices: int
    step: str
    tool: str
    median_s: float
    rows_per_s: float
    mb_per_s: float
    peak_rss_mb: float
    runs: int


def _child(argv: list[str]) -> tuple[float, float]:
    """Run argv as a child process; return (wall seconds, its peak RSS in MB)."""
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}")
    return elapsed, usage.ru_maxrss / 1024


def _duckwifi(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "duckwifi", *map(str, args)]


def _peer(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "benchmarks.peers", *map(str, args)]


def _repeat(
    repeat: int, prepare: Callable[[int], list[str]], cleanup: Callable[[int], None]
) -> tuple[list[float], float]:
    times, peak = [], 0.0
    for attempt in range(repeat):
        argv = prepare(attempt)
        elapsed, rss = _child(argv)
        times.append(elapsed)
        peak = max(peak, rss)
        cleanup(attempt)
    return times, peak


def _record(
    results: list[Measurement], devices: int, step: str, tool: str, times: list[float], peak: float, mb: float
) -> None:
    median = statistics.median(times)
    results.append(
        Measurement(
            devices,
            step,
            tool,
            round(median, 2),
            round(devices / median),
            round(mb / median, 1),
            round(peak),
            len(times),
        )
    )
    print(f"  {step:8} {tool:28} {median:7.2f} s  {devices / median:>12,.0f} rows/s  {peak:>6,.0f} MB", flush=True)


def _floor(results: list[Measurement], devices: int, csv: Path, work: Path, repeat: int) -> None:
    size = csv.stat().st_size
    mb = size / 1e6
    chunk = b"\0" * (16 << 20)
    times = []
    for _ in range(repeat):
        target = work / "floor.bin"
        started = time.perf_counter()
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        written = 0
        while written < size:
            written += os.write(fd, chunk[: min(len(chunk), size - written)])
        os.fsync(fd)
        os.close(fd)
        times.append(time.perf_counter() - started)
        target.unlink()
    _record(results, devices, "floor", "raw disk write (fsync)", times, 0, mb)

    con = duckdb.connect(config={"memory_limit": "2GB", "preserve_insertion_order": False})
    con.execute(queries.load("reference/state_regions.sql"))
    con.execute(queries.load("converter/create_reader_macros.sql"))
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        con.execute("SELECT count(*), max(COLUMNS(*)) FROM checked_telemetry($s)", {"s": str(csv)}).fetchall()
        times.append(time.perf_counter() - started)
    _record(results, devices, "floor", "DuckDB CSV scan + checks", times, 0, mb)

    con.execute("CREATE TABLE loaded AS SELECT * EXCLUDE (problem) FROM checked_telemetry($s)", {"s": str(csv)})
    times = []
    for _ in range(repeat):
        target = work / "floor.parquet"
        started = time.perf_counter()
        con.execute("COPY loaded TO $t (FORMAT parquet, COMPRESSION zstd)", {"t": str(target)})
        times.append(time.perf_counter() - started)
        target.unlink()
    _record(results, devices, "floor", "Parquet write alone (zstd)", times, 0, mb)
    con.close()


def measure(devices: int, repeat: int, work: Path) -> list[Measurement]:
    results: list[Measurement] = []
    print(f"{devices:,} devices", flush=True)
    wh = work / "wh"
    times, peak = _repeat(
        repeat if devices < 20_000_000 else 1,
        lambda i: _duckwifi("init", "-w", wh, "--devices", devices, "--force"),
        lambda i: None,
    )
    _record(results, devices, "init", "duckwifi init", times, peak, 0)

    csv_dir = work / "csv"
    times, peak = _repeat(
        repeat,
        lambda i: _duckwifi("tick", "-w", wh, "--out", work / f"tick{i}"),
        lambda i: None if i == 0 else shutil.rmtree(work / f"tick{i}"),
    )
    (work / "tick0").rename(csv_dir)
    csv = next(csv_dir.glob("*.csv"))
    csv_mb = csv.stat().st_size / 1e6
    _record(results, devices, "make", "duckwifi tick", times, peak, csv_mb)

    peer_csv = work / "peer.csv"
    times, peak = _repeat(repeat, lambda i: _peer("make-polars", wh / "devices.parquet", peer_csv), lambda i: None)
    _record(results, devices, "make", "numpy + Polars write_csv", times, peak, peer_csv.stat().st_size / 1e6)
    with peer_csv.open() as a, csv.open() as b:
        assert a.readline() == b.readline(), "the peer's CSV must have the same header"
    peer_csv.unlink()

    times, peak = _repeat(
        repeat,
        lambda i: _duckwifi("convert", csv_dir, work / "lake", "-w", work / f"cwh{i}"),
        lambda i: (shutil.rmtree(work / "lake"), shutil.rmtree(work / f"cwh{i}")),
    )
    _record(results, devices, "convert", "duckwifi convert", times, peak, csv_mb)
    times, peak = _repeat(
        repeat, lambda i: _peer("convert-polars", csv, work / "lake"), lambda i: shutil.rmtree(work / "lake")
    )
    _record(results, devices, "convert", "Polars sink_parquet(PartitionBy)", times, peak, csv_mb)
    if devices <= PYARROW_MAX_DEVICES:
        times, peak = _repeat(
            1, lambda i: _peer("convert-pyarrow", csv, work / "lake"), lambda i: shutil.rmtree(work / "lake")
        )
        _record(results, devices, "convert", "pyarrow write_dataset", times, peak, csv_mb)

    _floor(results, devices, csv, work, repeat)
    shutil.rmtree(work, ignore_errors=True)
    return results


def to_markdown(results: list[Measurement]) -> str:
    lines = [
        "| devices | step | tool | median s | rows/s | MB/s | peak RSS MB | runs | duckwifi / peer |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    ours = {(m.devices, m.step): m for m in results if m.tool.startswith("duckwifi")}
    for m in results:
        mine = ours.get((m.devices, m.step))
        ratio = f"{mine.rows_per_s / m.rows_per_s:.2f}x" if mine and mine is not m and m.step != "floor" else ""
        lines.append(
            f"| {m.devices:,} | {m.step} | {m.tool} | {m.median_s} | {m.rows_per_s:,.0f} | {m.mb_per_s} | "
            f"{m.peak_rss_mb:,.0f} | {m.runs} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def plot(results: list[Measurement], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, step in zip(axes, ("make", "convert"), strict=True):
        tools = sorted({m.tool for m in results if m.step == step})
        for tool in tools:
            points = sorted((m.devices, m.rows_per_s) for m in results if m.step == step and m.tool == tool)
            ax.plot([p[0] / 1e6 for p in points], [p[1] / 1e6 for p in points], marker="o", label=tool)
        ax.set_title(f"{step}: throughput against fleet size")
        ax.set_xlabel("devices (millions)")
        ax.set_ylabel("million rows per second")
        ax.set_xscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(target, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1_000_000, 5_000_000, 20_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (needs ~10 GB at 20M)")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    scratch = options.workdir or Path(tempfile.mkdtemp(prefix="duckwifi-compare-"))
    results: list[Measurement] = []
    for devices in options.devices:
        results += measure(devices, options.repeat, scratch / str(devices))
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }
    (options.out / "results.json").write_text(
        json.dumps({"machine": machine, "results": [asdict(m) for m in results]}, indent=2)
    )
    (options.out / "results.md").write_text(to_markdown(results))
    plot(results, options.out / "throughput.png")
    print(to_markdown(results))


if __name__ == "__main__":
    main()
