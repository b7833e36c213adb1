"""The rollups' benchmark harness runs end to end on a tiny fleet (a smoke test of the harness, never a timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
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
    # 25 hours: the replica takes the first day's units only, so no shifted midnight is held twice.
    assert run_cli("tick", "--warehouse", wh, "--out", src, "--hours", 25).returncode == 0
    assert run_cli("convert", src, lake, "--warehouse", wh).returncode == 0
    replicated = _bench("replicate", wh, tmp_path / "store", "--days", "2")["replicate"]
    assert replicated["hours"] == 48
    assert replicated["units"] == 48
    answered = _bench("queries", tmp_path / "store", "--warehouse", wh, "--repeat", "2")["queries"]
    assert answered["store_hours"] == 48
    assert all(shape["p50_ms"] > 0 for shape in answered["shapes"].values())
    assert _bench("cell-cost", lake)["cell-cost"]["sql_grid"]["rows"] == 2000


@pytest.mark.parametrize("peer", ["ingest-polars", "ingest-polars-reread"])
def test_polars_ingest_peer_does_the_same_work(tmp_path: Path, peer: str) -> None:
    """The peer's lake and rollup tables hold exactly what duckwifi's convert writes (so the ratio is fair)."""
    pytest.importorskip("polars")
    wh, src, lake, peer_lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake", tmp_path / "peer" / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", 3000, "--seed", 3).returncode == 0
    assert run_cli("tick", "--warehouse", wh, "--out", src).returncode == 0
    assert run_cli("convert", src, lake, "--warehouse", wh).returncode == 0
    (csv,) = src.glob("*.csv")
    peer_lake.parent.mkdir()
    ran = subprocess.run([sys.executable, "-m", "benchmarks.peers", peer, csv, peer_lake], cwd=ROOT, check=False)
    assert ran.returncode == 0
    (unit,) = (wh / "rollups" / "units").iterdir()
    columns = {
        "stats": "hour, region, state, band, metric, n, s1, s2, lo, hi",
        "sketch": "hour, region, state, metric, bucket, n",
        # The centres may differ in the last bit (the same formula, evaluated in another order).
        "cells": "hour, region, state, cell, round(lat, 9), round(lon, 9), metric, n, s1, lo, hi",
    }
    with duckdb.connect() as con:
        for table, names in columns.items():
            ours = f"SELECT {names} FROM read_parquet('{unit / f'{table}.parquet'}')"
            theirs = f"SELECT {names} FROM read_parquet('{peer_lake.parent / 'lake-rollups' / f'{table}.parquet'}')"
            assert con.execute(f"SELECT count(*) FROM ({ours})").fetchone()[0] > 0
            for left, right in ((ours, theirs), (theirs, ours)):
                assert con.execute(f"SELECT count(*) FROM (({left}) EXCEPT ALL ({right}))").fetchone() == (0,), table
        rows = "SELECT count(*) FROM read_parquet('{}/**/*.parquet')"
        assert con.execute(rows.format(peer_lake)).fetchone() == con.execute(rows.format(lake)).fetchone()
