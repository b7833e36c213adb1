"""A `convert` killed with SIGKILL at random instants: readers never see a partial or doubled file, and the next
run leaves the lake holding exactly the rows of the CSV files."""

from __future__ import annotations

import random
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import popen_cli, run_cli

DEVICES = 20_000
HOURS = 6


def _lake_counts(lake: Path) -> tuple[int, int]:
    files = list(lake.rglob("*.parquet"))
    if not files:
        return (0, 0)
    with duckdb.connect() as con:
        # Reading every visible file proves none is partial; distinct pairs prove none is doubled.
        return con.execute(
            "SELECT count(*), count(DISTINCT (site, datetime)) FROM read_parquet($g, hive_partitioning = true)",
            {"g": str(lake / "**" / "*.parquet")},
        ).fetchone()


@pytest.mark.faults
def test_convert_killed_at_random_instants_then_rerun_is_exact(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    rounds = request.config.getoption("--fault-rounds")
    rng = random.Random(7)
    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", DEVICES).returncode == 0
    assert run_cli("tick", "--warehouse", wh, "--out", src, "--hours", HOURS).returncode == 0

    for _ in range(rounds):
        proc = popen_cli("convert", src, lake, "--warehouse", wh)
        time.sleep(rng.uniform(0.4, 2.5))
        proc.kill()
        proc.communicate()
        rows, distinct = _lake_counts(lake)
        assert rows == distinct, "a reader saw doubled rows after a kill"

    final = run_cli("convert", src, lake, "--warehouse", wh)
    assert final.returncode == 0, final.stderr
    assert _lake_counts(lake) == (DEVICES * HOURS, DEVICES * HOURS)
    assert not (lake / "_staging").exists() or not any((lake / "_staging").iterdir())
    assert not list(lake.rglob("*.partial"))
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM telemetry").fetchone() == (DEVICES * HOURS,)
    with duckdb.connect(str(wh / "state.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM conversions WHERE status = 'done'").fetchone() == (HOURS,)
