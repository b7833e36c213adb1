"""The benchmark harness runs end to end on a tiny fleet (a smoke test of the harness, never a timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_compare_harness_runs_and_writes_its_outputs(tmp_path: Path) -> None:
    pytest.importorskip("polars", reason="the bench extras are not installed")
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.compare",
            "--devices",
            "3000",
            "--repeat",
            "1",
            "--out",
            out,
            "--workdir",
            tmp_path / "work",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((out / "results.json").read_text())
    steps = {(m["step"], m["tool"]) for m in data["results"]}
    assert ("make", "duckwifi tick") in steps
    assert ("convert", "Polars sink_parquet(PartitionBy)") in steps
    assert ("convert", "pyarrow write_dataset") in steps
    assert all(m["cpu_s"] > 0 for m in data["results"] if m["step"] != "floor")
    # The profile says where duckwifi's CPU goes, operator by operator, for both hourly steps.
    profiled = {(p["step"], p["operator"]) for p in data["profile"]}
    assert {("convert", "READ_CSV"), ("convert", "COPY_TO_FILE"), ("make", "BATCH_COPY_TO_FILE")} <= profiled
    assert all(p["thread_s"] >= 0 and p["work"] for p in data["profile"])
    assert (out / "throughput.png").stat().st_size > 0
    markdown = (out / "results.md").read_text()
    assert "duckwifi / peer" in markdown
    assert "| READ_CSV |" in markdown
