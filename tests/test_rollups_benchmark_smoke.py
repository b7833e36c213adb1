"""The rollups' benchmark harness runs end to end on a tiny fleet (a smoke test of the harness, never a timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent


def _bench(*args: str | Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.rollups", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.mark.slow
def test_rollups_harness_runs_every_step(tmp_path: Path) -> None:
    cost = _bench("convert-cost", "--devices", "2000", "--repeat", "1", "--workdir", tmp_path / "cost")
    assert {"with rollups", "without rollups", "added_pct"} <= set(cost["convert-cost"])
    assert set(cost["convert-cost"]["duckwifi_over_peer"]) == {"Polars ingest, reread", "Polars ingest, one pass"}
    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", 2000).returncode == 0
    assert run_cli("tick", "--warehouse", wh, "--out", src, "--hours", 24).returncode == 0
    assert run_cli("convert", src, lake, "--warehouse", wh).returncode == 0
    replicated = _bench("replicate", wh, tmp_path / "store", "--days", "2")["replicate"]
    assert replicated["hours"] == 48
    answered = _bench("queries", tmp_path / "store", "--warehouse", wh, "--repeat", "2")["queries"]
    assert answered["store_hours"] == 48
    assert all(shape["p50_ms"] > 0 for shape in answered["shapes"].values())
    assert _bench("cell-cost", lake)["cell-cost"]["sql_grid"]["rows"] == 2000
