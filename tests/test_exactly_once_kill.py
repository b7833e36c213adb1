"""`forget` and `check --repair` killed with SIGKILL at random instants: the next run leaves the lake and the
ledger consistent (check finds nothing, no row doubled or lost)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import popen_cli, run_cli

DEVICES = 20_000
HOURS = 4


def _lake_counts(lake: Path) -> tuple[int, int]:
    with duckdb.connect() as con:
        return con.execute(
            "SELECT count(*), count(DISTINCT (site, datetime)) FROM read_parquet($g)",
            {"g": str(lake / "**" / "*.parquet")},
        ).fetchone()


def _converted_files(wh: Path) -> int:
    status = run_cli("status", "--warehouse", wh).stdout
    return int(next(line for line in status.splitlines() if line.startswith("converted_files:")).split(": ")[1])


@pytest.fixture
def converted(tmp_path: Path) -> tuple[Path, Path, Path]:
    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", DEVICES).returncode == 0
    assert run_cli("tick", "--warehouse", wh, "--out", src, "--hours", HOURS).returncode == 0
    assert run_cli("convert", src, lake, "--warehouse", wh).returncode == 0
    return wh, src, lake


@pytest.mark.faults
def test_forget_killed_at_random_instants_leaves_the_lake_consistent(converted, request) -> None:
    wh, src, lake = converted
    rng = random.Random(9)
    for round_ in range(request.config.getoption("--fault-rounds")):
        source = sorted(src.glob("*.csv"))[round_ % HOURS]
        proc = popen_cli("forget", source, "--warehouse", wh)
        time.sleep(rng.uniform(0.2, 1.2))
        proc.kill()
        proc.communicate()
        checked = run_cli("check", "--warehouse", wh)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        files = _converted_files(wh)
        assert files in (HOURS - 1, HOURS)
        assert _lake_counts(lake) == (files * DEVICES, files * DEVICES)
        assert run_cli("convert", src, lake, "--warehouse", wh).returncode == 0
        assert _lake_counts(lake) == (HOURS * DEVICES, HOURS * DEVICES)


@pytest.mark.faults
def test_check_repair_killed_at_random_instants_then_rerun_is_exact(converted, request) -> None:
    wh, _src, lake = converted
    rng = random.Random(11)
    for _ in range(request.config.getoption("--fault-rounds")):
        files = sorted(lake.rglob("*.parquet"))
        for path in rng.sample(files, 3):
            path.unlink()
        for path in rng.sample([f for f in files if f.exists()], 2):
            path.write_bytes(path.read_bytes()[:-64])
        (lake / "date=01-01-20" / "stray.parquet").write_bytes(b"PAR1 not really")
        proc = popen_cli("check", "--repair", "--warehouse", wh)
        time.sleep(rng.uniform(0.2, 2.0))
        proc.kill()
        proc.communicate()
        # A kill mid-staging leaves *.partial files under _staging (the next run deletes them), never elsewhere.
        assert not [p for p in lake.rglob("*.partial") if "_staging" not in p.relative_to(lake).parts]
        again = run_cli("check", "--repair", "--warehouse", wh)
        assert again.returncode == 0, again.stdout + again.stderr
        assert not list(lake.rglob("*.partial")), "the next run clears what a killed one staged"
        clean = run_cli("check", "--warehouse", wh)
        assert clean.returncode == 0, clean.stdout
        assert clean.stdout == ""
        assert _lake_counts(lake) == (HOURS * DEVICES, HOURS * DEVICES)
