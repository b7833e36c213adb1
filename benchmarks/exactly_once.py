"""What the exactly-once checks of issue 9 cost beside one convert hour: the staging COPY, the repeated-key
check on the staged files, and the cross-file overlap check in its worst case (every key of the hour is
already in the lake). Medians of --repeat runs, on one CSV hour written by `duckwifi tick`.

    python -m benchmarks.exactly_once --devices 1000000 --repeat 3 --workdir /tmp/bench9
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from duckwifi import queries
from duckwifi.converter.staging import contract_reader, stage
from duckwifi.warehouse import Warehouse


def _duckwifi(*args: object) -> None:
    subprocess.run([sys.executable, "-m", "duckwifi", *map(str, args)], check=True, capture_output=True)


def measure(devices: int, repeat: int, workdir: Path) -> dict[str, float]:
    wh, csv = workdir / "wh", workdir / "csv"
    if not csv.is_dir():
        _duckwifi("init", "-w", wh, "--devices", devices)
        _duckwifi("tick", "-w", wh, "--out", csv)
    (source,) = sorted(csv.glob("*.csv"))
    warehouse = Warehouse(wh)
    samples: dict[str, list[float]] = {"stage_s": [], "repeated_keys_s": [], "overlap_worst_case_s": []}
    lake = workdir / "lake"
    for attempt in range(repeat + 1):
        staging = workdir / "staging"
        for folder in (staging, lake):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
        with contract_reader(warehouse) as reader:
            started = time.perf_counter()
            stage(warehouse, reader, source.resolve(), staging, "bench")
            stage_s = time.perf_counter() - started
            staged = [str(p) for p in sorted(staging.rglob("*.partial"))]
            started = time.perf_counter()
            reader.execute(queries.load("converter/count_repeated_keys.sql"), {"staged": staged}).fetchone()
            repeated_s = time.perf_counter() - started
            # The same hour again as the lake: every key overlaps, the check's worst case.
            published = []
            for index, path in enumerate(staged):
                target = lake / f"{index}.parquet"
                shutil.copyfile(path, target)
                published.append(str(target))
            started = time.perf_counter()
            reader.execute(
                queries.load("converter/count_overlaps.sql"), {"lake_files": published, "staged": staged}
            ).fetchall()
            overlap_s = time.perf_counter() - started
        if attempt == 0:
            continue  # warm-up: the first run reads the CSV from disk
        samples["stage_s"].append(stage_s)
        samples["repeated_keys_s"].append(repeated_s)
        samples["overlap_worst_case_s"].append(overlap_s)
    result = {name: round(statistics.median(values), 3) for name, values in samples.items()}
    result["repeated_keys_share"] = round(result["repeated_keys_s"] / result["stage_s"], 3)
    result["overlap_share"] = round(result["overlap_worst_case_s"] / result["stage_s"], 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(measure(args.devices, args.repeat, args.workdir))


if __name__ == "__main__":
    main()
