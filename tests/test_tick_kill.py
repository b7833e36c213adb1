"""Exactly-once hours: a `tick` killed with SIGKILL at random instants never leaves a partial CSV under a final
name, never skips or repeats an hour, and the next `tick` continues where the clock truly is."""

from __future__ import annotations

import random
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import popen_cli, run_cli

DEVICES = 20_000


def _clock_hours(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse / "state.duckdb"), read_only=True) as con:
        (hours,) = con.execute("SELECT datediff('hour', start_hour, next_hour) FROM generator").fetchone()
    return int(hours)


def _assert_every_visible_csv_is_complete(out: Path) -> None:
    for path in out.glob("*.csv"):
        data = path.read_bytes()
        assert data.endswith(b"\n"), f"{path.name} is partial"
        assert data.count(b"\n") == DEVICES + 1, f"{path.name} is partial"


@pytest.mark.faults
def test_tick_killed_at_random_instants_keeps_exactly_once(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    rounds = request.config.getoption("--fault-rounds")
    rng = random.Random(20200101)
    wh, out = tmp_path / "wh", tmp_path / "out"
    assert run_cli("init", "--warehouse", wh, "--devices", DEVICES, "--seed", "3").returncode == 0
    for _ in range(rounds):
        proc = popen_cli("tick", "--warehouse", wh, "--out", out, "--hours", "8")
        time.sleep(rng.uniform(0.3, 2.5))
        proc.kill()
        proc.communicate()
        _assert_every_visible_csv_is_complete(out)
    # One clean run: it cleans up after the killed ones and writes the hour the clock stands at.
    finish = run_cli("tick", "--warehouse", wh, "--out", out)
    assert finish.returncode == 0, finish.stderr
    hours = _clock_hours(wh)
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files were left behind"
    written = sorted(out.glob("*.csv"))
    assert len(written) == hours, "an hour was skipped or written beyond the clock"

    reference_wh, reference_out = tmp_path / "ref_wh", tmp_path / "ref_out"
    assert run_cli("init", "--warehouse", reference_wh, "--devices", DEVICES, "--seed", "3").returncode == 0
    assert run_cli("tick", "--warehouse", reference_wh, "--out", reference_out, "--hours", hours).returncode == 0
    expected = sorted(reference_out.glob("*.csv"))
    assert [p.name for p in written] == [p.name for p in expected]
    for got, want in zip(written, expected, strict=True):
        assert got.read_bytes() == want.read_bytes(), f"{got.name} differs from an uninterrupted run"
    with duckdb.connect(str(wh / "state.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM hours").fetchone() == (hours,)
