"""duckwifi against its peers, and against the machine's floor, on identical input in one run.

    python -m benchmarks.compare --devices 1000000 5000000 20000000 --repeat 3 --out docs/benchmarks

For each fleet size: `duckwifi tick` against numpy + Polars `write_csv` (same CSV), and `duckwifi convert`
against Polars' partitioned sink and `pyarrow.dataset.write_dataset` (same lake layout), each step in its own
process so that its peak RSS and CPU time are its own. duckwifi and its peers take turns (A B A B …) and the
table gives medians of --repeat runs, so that the ratios (duckwifi's throughput over the peer's) hold on a noisy
machine. It also measures the floor (raw disk write speed, DuckDB's CSV scan alone, a Parquet write alone) and
profiles duckwifi's two hourly statements with DuckDB's own profiler: thread seconds per operator. Writes
results.json, results.md and throughput.png into --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
from duckwifi.converter.lake import contract_reader
from duckwifi.warehouse import Warehouse, connect, read_generator_state, work_connection

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
    cpu_s: float = 0.0  # median user + system CPU seconds of the process (0 for in-process floor steps)


@dataclass
class OperatorTime:
    devices: int
    step: str
    operator: str
    thread_s: float  # seconds threads spent in the operator, summed over threads
    share: float  # of the statement's operator total
    work: str  # what the operator does in duckwifi's statement


_OUTSIDE_OPERATORS = "outside any operator"
# The operators of write_hour.sql and convert_file.sql, top down, as DuckDB's profiler names them.
_OPERATOR_WORK = {
    ("make", _OUTSIDE_OPERATORS): "format the ordered batches as CSV text and write them",
    ("convert", _OUTSIDE_OPERATORS): "threads' coordination, file creation",
    ("make", "BATCH_COPY_TO_FILE"): "collect rows into ordered batches",
    ("make", "PROJECTION"): "20 metrics from the hashes as DECIMAL(6,4), the datetime text",
    ("make", "PROJECTION 2"): "10 hashes of (seed, site, hour, pair) per row",
    ("make", "READ_PARQUET"): "read the devices file",
    ("convert", "COPY_TO_FILE"): "partition, encode Parquet (zstd) and write",
    ("convert", "PROJECTION"): "date and hour keys; fail on a row that breaks a rule",
    ("convert", "PROJECTION 2"): "the contract's checks (state/region pair, ranges)",
    ("convert", "READ_CSV"): "parse the CSV into typed columns",
}


@dataclass
class _Runs:
    times: list[float]
    cpu: list[float]
    peak_rss_mb: float = 0.0


def _child(argv: list[str], runs: _Runs) -> None:
    """Run argv as a child process and add its wall time, CPU time and peak RSS to ``runs``."""
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}")
    runs.times.append(elapsed)
    runs.cpu.append(usage.ru_utime + usage.ru_stime)
    runs.peak_rss_mb = max(runs.peak_rss_mb, usage.ru_maxrss / 1024)


def _duckwifi(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "duckwifi", *map(str, args)]


def _peer(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "benchmarks.peers", *map(str, args)]


def _take_turns(
    repeat: int, contenders: dict[str, tuple[Callable[[int], list[str]], Callable[[int], None]]]
) -> dict[str, _Runs]:
    """Run each contender ``repeat`` times, in turns, so that a slow spell of the host hits all of them."""
    runs = {name: _Runs([], []) for name in contenders}
    for attempt in range(repeat):
        for name, (prepare, cleanup) in contenders.items():
            _child(prepare(attempt), runs[name])
            cleanup(attempt)
    return runs


def _record(results: list[Measurement], devices: int, step: str, tool: str, runs: _Runs, mb: float) -> None:
    median = statistics.median(runs.times)
    cpu = statistics.median(runs.cpu) if runs.cpu else 0.0
    results.append(
        Measurement(
            devices,
            step,
            tool,
            round(median, 2),
            round(devices / median),
            round(mb / median, 1),
            round(runs.peak_rss_mb),
            len(runs.times),
            round(cpu, 2),
        )
    )
    print(
        f"  {step:8} {tool:32} {median:7.2f} s  {devices / median:>12,.0f} rows/s  cpu {cpu:6.2f} s  "
        f"{runs.peak_rss_mb:>6,.0f} MB",
        flush=True,
    )


def _operators(devices: int, step: str, con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[OperatorTime]:
    """DuckDB's profile of one statement: seconds in each operator, summed over threads, from the top down.

    The profiler leaves some work outside every operator (an order-preserving COPY formats and writes its
    batches there), so the process's own CPU time for the statement gives the remainder its own row.
    """
    before = resource.getrusage(resource.RUSAGE_SELF)
    (_, profile), *_ = con.execute("EXPLAIN (ANALYZE, FORMAT json) " + sql, params).fetchall()
    after = resource.getrusage(resource.RUSAGE_SELF)
    process_cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    found: list[tuple[str, float]] = []
    pending = json.loads(profile)["operator"]
    while pending:
        node = pending.pop(0)
        if node["type"] not in ("RESULT_COLLECTOR", "EXPLAIN_ANALYZE"):
            found.append((node["name"], node["timing"]))
        pending = node.get("children", []) + pending
    found.append((_OUTSIDE_OPERATORS, max(0.0, process_cpu - sum(seconds for _, seconds in found))))
    total = sum(seconds for _, seconds in found) or 1.0
    seen: dict[str, int] = {}
    named = []
    for name, seconds in found:
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name} {seen[name]}"
        work = _OPERATOR_WORK.get((step, label), "")
        named.append(OperatorTime(devices, step, label, round(seconds, 2), round(seconds / total, 3), work))
    return named


def _profile(devices: int, wh: Path, csv: Path, work: Path) -> list[OperatorTime]:
    """Where one tick's and one convert's time goes, by DuckDB's own profiler (in this process)."""
    warehouse = Warehouse(wh)
    with connect(warehouse, read_only=True) as con:
        state = read_generator_state(con)
    assert state is not None
    found = []
    with work_connection(warehouse) as con:
        con.execute(queries.load("generator/create_metric_macro.sql"))
        params = {
            "seed": state.seed,
            "hour": state.start_hour,
            "devices_parquet": str(warehouse.devices_parquet),
            "target": str(work / "profile.csv"),
        }
        found += _operators(devices, "make", con, queries.load("generator/write_hour.sql"), params)
    (work / "profile.csv").unlink()
    staging = work / "profile-lake"
    with contract_reader(warehouse) as con:
        params = {"source": str(csv), "staging": str(staging), "filename_pattern": "profile_{i}", "lenient": False}
        found += _operators(devices, "convert", con, queries.load("converter/convert_file.sql"), params)
    shutil.rmtree(staging)
    for row in found:
        print(f"  profile  {row.step:8} {row.operator:24} {row.thread_s:7.2f} thread s  {row.share:6.1%}", flush=True)
    return found


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
    _record(results, devices, "floor", "raw disk write (fsync)", _Runs(times, []), mb)

    # The floor reads the CSV as convert does: the same reader, spilling beside a scratch warehouse.
    with contract_reader(Warehouse(work / "floor-warehouse")) as con:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            con.execute("SELECT count(*), max(COLUMNS(*)) FROM checked_telemetry($s)", {"s": str(csv)}).fetchall()
            times.append(time.perf_counter() - started)
        _record(results, devices, "floor", "DuckDB CSV scan + checks", _Runs(times, []), mb)

        con.execute("CREATE TABLE loaded AS SELECT * EXCLUDE (problem) FROM checked_telemetry($s)", {"s": str(csv)})
        times = []
        for _ in range(repeat):
            target = work / "floor.parquet"
            started = time.perf_counter()
            con.execute("COPY loaded TO $t (FORMAT parquet, COMPRESSION zstd)", {"t": str(target)})
            times.append(time.perf_counter() - started)
            target.unlink()
        _record(results, devices, "floor", "Parquet write alone (zstd)", _Runs(times, []), mb)


def measure(devices: int, repeat: int, work: Path) -> tuple[list[Measurement], list[OperatorTime]]:
    results: list[Measurement] = []
    print(f"{devices:,} devices", flush=True)
    wh = work / "wh"
    runs = _take_turns(
        repeat if devices < 20_000_000 else 1,
        {
            # Like with like: the peers write uniform floats, so duckwifi writes its uniform profile.
            "init": (
                lambda i: _duckwifi("init", "-w", wh, "--devices", devices, "--force", "--profile", "uniform"),
                lambda i: None,
            )
        },
    )
    _record(results, devices, "init", "duckwifi init", runs["init"], 0)

    # The tick's clock advances with every run; each run writes its own hour into its own folder.
    peer_csv = work / "peer.csv"
    runs = _take_turns(
        repeat,
        {
            "duckwifi": (
                lambda i: _duckwifi("tick", "-w", wh, "--out", work / f"tick{i}"),
                lambda i: None if i == 0 else shutil.rmtree(work / f"tick{i}"),
            ),
            "peer": (lambda i: _peer("make-polars", wh / "devices.parquet", peer_csv), lambda i: None),
        },
    )
    csv_dir = work / "csv"
    (work / "tick0").rename(csv_dir)
    csv = next(csv_dir.glob("*.csv"))
    csv_mb = csv.stat().st_size / 1e6
    _record(results, devices, "make", "duckwifi tick", runs["duckwifi"], csv_mb)
    _record(results, devices, "make", "numpy + Polars write_csv", runs["peer"], peer_csv.stat().st_size / 1e6)
    with peer_csv.open() as a, csv.open() as b:
        assert a.readline() == b.readline(), "the peer's CSV must have the same header"
    peer_csv.unlink()

    lake = work / "lake"
    contenders = {
        "duckwifi": (
            lambda i: _duckwifi("convert", csv_dir, lake, "-w", work / f"cwh{i}"),
            lambda i: (shutil.rmtree(lake), shutil.rmtree(work / f"cwh{i}")),
        ),
        "polars": (lambda i: _peer("convert-polars", csv, lake), lambda i: shutil.rmtree(lake)),
    }
    runs = _take_turns(repeat, contenders)
    _record(results, devices, "convert", "duckwifi convert", runs["duckwifi"], csv_mb)
    _record(results, devices, "convert", "Polars sink_parquet(PartitionBy)", runs["polars"], csv_mb)
    if devices <= PYARROW_MAX_DEVICES:
        runs = _take_turns(
            1, {"pyarrow": (lambda i: _peer("convert-pyarrow", csv, lake), lambda i: shutil.rmtree(lake))}
        )
        _record(results, devices, "convert", "pyarrow write_dataset", runs["pyarrow"], csv_mb)

    _floor(results, devices, csv, work, repeat)
    profile = _profile(devices, wh, csv, work)
    shutil.rmtree(work, ignore_errors=True)
    return results, profile


def to_markdown(results: list[Measurement], profile: list[OperatorTime]) -> str:
    lines = [
        "| devices | step | tool | median s | rows/s | MB/s | CPU s | peak RSS MB | runs | duckwifi / peer |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ours = {(m.devices, m.step): m for m in results if m.tool.startswith("duckwifi")}
    for m in results:
        mine = ours.get((m.devices, m.step))
        ratio = f"{mine.rows_per_s / m.rows_per_s:.2f}x" if mine and mine is not m and m.step != "floor" else ""
        cpu = f"{m.cpu_s}" if m.cpu_s else ""
        lines.append(
            f"| {m.devices:,} | {m.step} | {m.tool} | {m.median_s} | {m.rows_per_s:,.0f} | {m.mb_per_s} | {cpu} | "
            f"{m.peak_rss_mb:,.0f} | {m.runs} | {ratio} |"
        )
    lines += [
        "",
        "Where duckwifi's time goes: DuckDB's profile of one `tick` and one `convert` statement, seconds that",
        "threads spent in each operator, summed over threads; the last row of each is the process's CPU time",
        "that no operator accounts for (never below 0).",
        "",
        "| devices | step | operator | what it does | thread s | share |",
        "|---:|---|---|---|---:|---:|",
    ]
    lines += [f"| {p.devices:,} | {p.step} | {p.operator} | {p.work} | {p.thread_s} | {p.share:.0%} |" for p in profile]
    return "\n".join(lines) + "\n"


def plot(results: list[Measurement], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, step in zip(axes, ("make", "convert"), strict=True):
        # duckwifi first and in the same colour in both panels; peers after it, in the order measured.
        tools = list(dict.fromkeys(m.tool for m in results if m.step == step))
        for index, tool in enumerate(tools):
            points = sorted((m.devices, m.rows_per_s) for m in results if m.step == step and m.tool == tool)
            ax.plot(
                [p[0] / 1e6 for p in points], [p[1] / 1e6 for p in points], marker="o", label=tool, color=f"C{index}"
            )
        ax.set_title(f"{step}: throughput against fleet size")
        ax.set_xlabel("devices (millions)")
        ax.set_ylabel("million rows per second")
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
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
    profile: list[OperatorTime] = []
    for devices in options.devices:
        measured, profiled = measure(devices, options.repeat, scratch / str(devices))
        results += measured
        profile += profiled
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }
    (options.out / "results.json").write_text(
        json.dumps(
            {"machine": machine, "results": [asdict(m) for m in results], "profile": [asdict(p) for p in profile]},
            indent=2,
        )
    )
    (options.out / "results.md").write_text(to_markdown(results, profile))
    plot(results, options.out / "throughput.png")
    print(to_markdown(results, profile))


if __name__ == "__main__":
    main()
