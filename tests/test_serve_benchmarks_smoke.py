"""The serve benchmarks run end to end on the small test lake (a smoke test of the harness, never a timing)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serve_support import DEVICES, build_lake

ROOT = Path(__file__).resolve().parent.parent


def _bench(*args: object) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", *map(str, args)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_map_encoding_benchmark(served_lake, capsys):
    from benchmarks import serve_encoding

    serve_encoding.main(["--warehouse", str(served_lake.warehouse), "--repeat", "1"])
    result = json.loads(capsys.readouterr().out)
    for answer in result.values():
        assert answer["cells"] > 0
        assert answer["json"]["gzip_bytes"] < answer["json"]["bytes"]
        assert answer["json"]["stdlib_gzip_bytes"] < answer["json"]["bytes"]
        assert answer["arrow"]["bytes"] > 0


def test_device_lookup_benchmark(served_lake, tmp_path):
    _bench("benchmarks.device_lookup", "--warehouse", served_lake.warehouse, "--lookups", "5", "--out", tmp_path)
    result = json.loads((tmp_path / f"device_lookup_{DEVICES}.json").read_text())
    assert result["rows_per_lookup"] == 24
    assert result["files_read"]["served"] < result["files_read"]["without state pruning"]


def test_device_lookup_benchmark_on_24_replicated_hours(served_lake, tmp_path):
    _bench(
        "benchmarks.device_lookup",
        "--warehouse",
        served_lake.warehouse,
        "--lookups",
        "5",
        "--replicate-newest-hour",
        "--out",
        tmp_path,
    )
    result = json.loads((tmp_path / f"device_lookup_{DEVICES}.json").read_text())
    # Every one of the 24 linked hour folders gives the device its row of the newest hour.
    assert result["rows_per_lookup"] == 24
    assert "telemetry view (baseline)" not in result["timings"]
    assert not list(served_lake.lake.parent.glob(".device-lookup-*"))


@pytest.mark.slow
def test_serve_load_benchmark_with_a_convert_during_the_load(tmp_path):
    lake = build_lake(tmp_path, hours=2, devices=200)
    shutil.rmtree(lake.csv)
    out = tmp_path / "out"
    printed = _bench(
        "benchmarks.serve_load",
        "--warehouse",
        lake.warehouse,
        "--clients",
        "2",
        "--seconds",
        "8",
        "--think-ms",
        "20",
        "--convert-during",
        lake.csv,
        lake.lake,
        "--out",
        out,
        "--label",
        "smoke",
    ).stdout
    assert "| timeseries |" in printed
    result = json.loads((out / "serve_load.json").read_text())["smoke"]
    assert result["think_ms"] == 20
    assert result["errors"] == 0
    assert result["partial_answers"] == 0
    assert result["version_after"] != result["version_before"]
    assert result["hours"][1] == "2020-01-01T02:00:00"
    assert all(e["requests"] > 0 for e in result["endpoints"].values())
    # The server's own times of the same requests, read from its log, are shorter than the clients'.
    assert all(0 < e["server_p50_ms"] <= e["p50_ms"] for e in result["endpoints"].values())
