"""Issue 9: exactly once under ordinary operations. A source is its content; one row per (site, datetime); the
lake knows its warehouse; `forget` and `check`."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from duckwifi.contract import HEADER_LINE
from duckwifi.errors import ExitCode
from tests.conftest import invoke


@pytest.fixture
def csv_dir(runner, warehouse_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "csv"
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out, "--hours", "2")
    assert result.exit_code == 0
    return out


def view_counts(warehouse: Path) -> tuple[int, int]:
    """(rows, distinct (site, datetime)) through the telemetry view."""
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("SELECT count(*), count(DISTINCT (site, datetime)) FROM telemetry").fetchone()


def lake_counts(lake: Path) -> tuple[int, int]:
    with duckdb.connect() as con:
        return con.execute(
            "SELECT count(*), count(DISTINCT (site, datetime)) FROM read_parquet($g)",
            {"g": str(lake / "**" / "*.parquet")},
        ).fetchone()


def convert(runner, src: Path, lake: Path, warehouse: Path, *extra: str):
    return invoke(runner, "convert", src, lake, "--warehouse", warehouse, *extra)


# -- A source is its content ------------------------------------------------------------------------------------


def test_moving_the_converted_csv_folder_does_not_double_the_lake(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    assert convert(runner, csv_dir, lake, warehouse_dir).exit_code == 0
    archived = csv_dir.rename(tmp_path / "csv_archived")
    moved = convert(runner, archived, lake, warehouse_dir)
    assert moved.exit_code == 0, moved.output
    assert moved.stdout == ""
    assert "already converted (same content as " in moved.stderr
    assert str(csv_dir / "telemetry_2020-01-01_00.csv") in moved.stderr
    assert view_counts(warehouse_dir) == (1000, 1000)
    # The ledger followed the files: the next run takes the cheap path and says nothing about content.
    again = convert(runner, archived, lake, warehouse_dir)
    assert "2 already converted" in again.stderr
    assert "same content" not in again.stderr
    assert "converted_files: 2" in invoke(runner, "status", "--warehouse", warehouse_dir).stdout


def test_a_renamed_copy_in_a_new_folder_is_skipped(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    convert(runner, csv_dir, lake, warehouse_dir)
    other = tmp_path / "resent"
    other.mkdir()
    original = csv_dir / "telemetry_2020-01-01_01.csv"
    shutil.copy(original, other / "delivery-7.csv")
    result = convert(runner, other, lake, warehouse_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"delivery-7.csv: already converted (same content as {original.resolve()})" in result.stderr
    assert view_counts(warehouse_dir) == (1000, 1000)


def test_two_copies_in_one_run_convert_once(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    shutil.copy(csv_dir / "telemetry_2020-01-01_00.csv", csv_dir / "zz_copy.csv")
    result = convert(runner, csv_dir, tmp_path / "lake", warehouse_dir)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.split()) == 2
    assert "zz_copy.csv: already converted (same content as " in result.stderr
    assert view_counts(warehouse_dir) == (1000, 1000)
