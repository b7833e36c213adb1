"""Faults beyond a kill: concurrency, a full disk. Each run either proceeds or stops with a documented message,
and no outcome loses or doubles data."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from duckwifi.errors import ExitCode
from tests.conftest import popen_cli, run_cli

DEVICES = 20_000


def _lake_rows(lake: Path) -> tuple[int, int]:
    with duckdb.connect() as con:
        return con.execute(
            "SELECT count(*), count(DISTINCT (site, datetime)) FROM read_parquet($g)",
            {"g": str(lake / "**" / "*.parquet")},
        ).fetchone()


def _csv_rows(src: Path) -> int:
    return sum(p.read_bytes().count(b"\n") - 1 for p in src.glob("*.csv"))


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    wh = tmp_path / "wh"
    assert run_cli("init", "--warehouse", wh, "--devices", DEVICES).returncode == 0
    return wh


@pytest.mark.faults
def test_two_converts_at_once_one_waits_or_says_busy(fleet: Path, tmp_path: Path) -> None:
    src, lake = tmp_path / "csv", tmp_path / "lake"
    assert run_cli("tick", "--warehouse", fleet, "--out", src, "--hours", "4").returncode == 0
    first = popen_cli("convert", src, lake, "--warehouse", fleet)
    time.sleep(0.3)
    second = run_cli("convert", src, lake, "--warehouse", fleet)
    first.communicate()
    assert first.returncode == 0
    assert second.returncode in (0, ExitCode.BUSY)
    if second.returncode == ExitCode.BUSY:
        assert "warehouse busy: another duckwifi convert is running" in second.stderr
    assert _lake_rows(lake) == (4 * DEVICES, 4 * DEVICES)


@pytest.mark.faults
def test_tick_beside_convert_never_picks_up_a_half_written_hour(fleet: Path, tmp_path: Path) -> None:
    src, lake = tmp_path / "csv", tmp_path / "lake"
    src.mkdir()
    tick = popen_cli("tick", "--warehouse", fleet, "--out", src, "--hours", "6")
    while tick.poll() is None:
        result = run_cli("convert", src, lake, "--warehouse", fleet)
        assert result.returncode in (0, ExitCode.BUSY), result.stderr
    tick.communicate()
    assert tick.returncode == 0
    assert run_cli("convert", src, lake, "--warehouse", fleet).returncode == 0
    assert _lake_rows(lake) == (6 * DEVICES, 6 * DEVICES)
    assert _csv_rows(src) == 6 * DEVICES


@pytest.mark.faults
def test_read_only_queries_proceed_while_a_tick_runs(fleet: Path, tmp_path: Path) -> None:
    # A reader (a notebook, a dashboard) holds warehouse.duckdb open for the whole tick, querying all along.
    # A short open timeout: were tick to wait for the reader, it would say busy at once.
    with duckdb.connect(str(fleet / "warehouse.duckdb"), read_only=True) as reader:
        tick = popen_cli(
            "tick", "--warehouse", fleet, "--out", tmp_path / "csv", "--hours", "8", env={"DUCKWIFI_OPEN_TIMEOUT": "1"}
        )
        answered = 0
        while tick.poll() is None:
            assert reader.execute("SELECT 42").fetchone() == (42,)
            answered += 1
            time.sleep(0.02)
        _stdout, stderr = tick.communicate()
        assert reader.execute("SELECT 42").fetchone() == (42,)
    assert tick.returncode == 0, stderr
    assert answered > 0
    assert len(list((tmp_path / "csv").glob("*.csv"))) == 8


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs: a real full disk. Needs root (as this project's machines and CI run)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _grow(mount_point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=256m", str(mount_point)], check=True)


@pytest.mark.faults
def test_tick_on_a_full_disk_fails_clearly_and_leaves_the_clock(fleet: Path, small_disk: Path) -> None:
    out = small_disk / "csv"
    result = run_cli("tick", "--warehouse", fleet, "--out", out)
    assert result.returncode == ExitCode.DISK_FULL, result.stderr
    assert "disk full" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(out.iterdir()) == []
    status = run_cli("status", "--warehouse", fleet).stdout
    assert "hours_generated: 0" in status
    _grow(small_disk)
    again = run_cli("tick", "--warehouse", fleet, "--out", out)
    assert again.returncode == 0
    assert (out / "telemetry_2020-01-01_00.csv").read_bytes().count(b"\n") == DEVICES + 1


@pytest.mark.faults
def test_convert_on_a_full_disk_fails_clearly_and_the_lake_stays_exact(
    fleet: Path, tmp_path: Path, small_disk: Path
) -> None:
    src, lake = tmp_path / "csv", small_disk / "lake"
    assert run_cli("tick", "--warehouse", fleet, "--out", src, "--hours", "6").returncode == 0
    result = run_cli("convert", src, lake, "--warehouse", fleet)
    assert result.returncode == ExitCode.DISK_FULL, result.stderr
    assert "disk full" in result.stderr
    # The full disk is the lake's, not the source's (which is only read).
    assert f"disk full while writing {lake}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(lake.rglob("*.partial"))
    with duckdb.connect(str(fleet / "state.duckdb"), read_only=True) as con:
        (done_rows,) = con.execute("SELECT coalesce(sum(row_count), 0) FROM conversions").fetchone()
    if done_rows:
        assert _lake_rows(lake) == (done_rows, done_rows)
    _grow(small_disk)
    again = run_cli("convert", src, lake, "--warehouse", fleet)
    assert again.returncode == 0, again.stderr
    assert _lake_rows(lake) == (6 * DEVICES, 6 * DEVICES)


@pytest.mark.faults
def test_two_ticks_at_once_never_duplicate_an_hour(fleet: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    first = popen_cli("tick", "--warehouse", fleet, "--out", out, "--hours", "3")
    time.sleep(0.2)
    second = run_cli("tick", "--warehouse", fleet, "--out", out, "--hours", "3")
    first.communicate()
    assert first.returncode == 0
    assert second.returncode in (0, ExitCode.BUSY)
    if second.returncode == ExitCode.BUSY:
        assert "warehouse busy: another duckwifi tick is running" in second.stderr
    expected_hours = 3 if second.returncode == ExitCode.BUSY else 6
    assert len(list(out.glob("*.csv"))) == expected_hours
    status = run_cli("status", "--warehouse", fleet).stdout
    assert f"hours_generated: {expected_hours}" in status


@pytest.mark.faults
@pytest.mark.parametrize("keep", [0, 4096, 0.5])
def test_a_truncated_warehouse_is_refused_with_a_hint(fleet: Path, tmp_path: Path, keep: float) -> None:
    database = fleet / "state.duckdb"
    data = database.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    database.write_bytes(data[:cut])
    for args in (["tick", "--out", tmp_path / "csv"], ["status"], ["convert", tmp_path, tmp_path / "lake"]):
        result = run_cli(*args, "--warehouse", fleet)
        assert result.returncode in (ExitCode.CORRUPT, ExitCode.NOT_INITIALIZED), result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert database.read_bytes() == data[:cut], "the damaged warehouse must never be silently recreated"


@pytest.mark.faults
def test_sql_output_on_a_full_disk_is_disk_full_and_leaves_no_file(fleet: Path, small_disk: Path) -> None:
    target = small_disk / "big.csv"
    query = "SELECT range AS n, md5(range::VARCHAR) AS h FROM range(1000000)"
    result = run_cli("sql", "--warehouse", fleet, "--format", "csv", "--output", target, query)
    assert result.returncode == ExitCode.DISK_FULL, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(small_disk.iterdir()) == []
