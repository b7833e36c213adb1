"""`duckwifi convert`: CSV folder to Hive-partitioned Parquet lake, exactly once, through the CLI."""

from __future__ import annotations

import hashlib
import shutil
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pytest

from duckwifi.contract import HEADER_LINE
from duckwifi.errors import ExitCode
from tests.conftest import converted_sources, invoke


@pytest.fixture
def csv_dir(runner, warehouse_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "csv"
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out, "--hours", "3")
    assert result.exit_code == 0
    return out


def _lake_digest(lake: Path) -> dict[str, str]:
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(lake.rglob("*"))
        if p.is_file()
    }


def _expected_rows(csv_dir: Path) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(
            """
            SELECT
                CAST(datetime AS TIMESTAMP), region, state, latitude, longitude, site, cell, sector, band,
                COLUMNS('metric_\\d+'), strftime(CAST(datetime AS TIMESTAMP), '%d-%m-%y'),
                hour(CAST(datetime AS TIMESTAMP))
            FROM read_csv($glob, all_varchar = true)
            ORDER BY 1, 6
            """,
            {"glob": str(csv_dir / "*.csv")},
        ).fetchall()


def _view_rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("SELECT * EXCLUDE (day, hour_start) FROM telemetry ORDER BY datetime, site").fetchall()


def _normalise(rows: list[tuple]) -> list[tuple]:
    """CSV text versus typed values: numbers compare as exact decimals, so every digit must survive."""

    def cell(value):
        if isinstance(value, str):
            try:
                return Decimal(value)
            except InvalidOperation:
                return value
        if isinstance(value, int | Decimal):
            return Decimal(value)
        return value

    return [tuple(cell(v) for v in row) for row in rows]


def test_round_trip_every_row_and_value_comes_back(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    result = invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    assert result.exit_code == 0, result.output
    assert len(converted_sources(result.stdout)) == 3
    got = _view_rows(warehouse_dir)
    assert len(got) == 1500
    assert sorted(_normalise(got), key=lambda r: (r[0], r[5])) == sorted(
        _normalise(_expected_rows(csv_dir)), key=lambda r: (r[0], r[5])
    )


def test_partition_layout_and_values(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    hour_dirs = sorted(p.name for p in (lake / "date=01-01-20").iterdir())
    assert hour_dirs == ["hour=0", "hour=1", "hour=2"]
    files = list(lake.rglob("*.parquet"))
    assert all(f.relative_to(lake).parts[2].startswith("region=") for f in files)
    assert all(f.relative_to(lake).parts[3].startswith("state=") for f in files)
    with duckdb.connect(str(warehouse_dir / "warehouse.duckdb"), read_only=True) as con:
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE telemetry)").fetchall())
        assert types["datetime"] == "TIMESTAMP"
        assert types["date"] == "VARCHAR"
        assert types["hour"] == "INTEGER"
        # Exact decimals at the contract's precision: the CSV's text comes back digit for digit.
        assert types["latitude"] == "DECIMAL(8,6)"
        assert types["longitude"] == "DECIMAL(9,6)"
        assert {types[f"metric_{k}"] for k in range(1, 21)} == {"DECIMAL(9,4)"}
        # The Hive value 01-01-20 must come back as that text, not as a DATE DuckDB guessed.
        assert con.execute("SELECT DISTINCT date FROM telemetry").fetchall() == [("01-01-20",)]
        # ... and day is the proper DATE beside it, hour_start the hour both name.
        assert types["day"] == "DATE"
        assert types["hour_start"] == "TIMESTAMP"
        assert con.execute("SELECT count(*) FROM telemetry WHERE hour_start <> datetime").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM telemetry WHERE hour = 2 AND state = 'TX'").fetchone()[0] > 0
        mismatched = con.execute(
            "SELECT count(*) FROM telemetry WHERE date <> strftime(datetime, '%d-%m-%y') OR hour <> hour(datetime)"
        ).fetchone()
        assert mismatched == (0,)
    # The Parquet files themselves carry no partition columns and a typed TIMESTAMP.
    with duckdb.connect() as con:
        schema = dict(con.execute("SELECT name, type FROM parquet_schema($f)", {"f": str(files[0])}).fetchall()[1:])
    assert "state" not in schema
    assert "date" not in schema
    assert schema["datetime"] == "INT64"
    assert schema["metric_1"] == "INT32"


def test_digits_beyond_the_contract_precision_are_rounded_half_away_from_zero(runner, warehouse_dir, tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    row = ["2020-01-01 00:00:00", "West", "CA", "36.1234565", "-119.0000005", "1", "1", "1", "1"]
    metrics = ["12.34565", "-0.00005", "99999.9999"] + ["0"] * 17
    (src / "one.csv").write_text(HEADER_LINE + "\n" + ",".join(row + metrics) + "\n")
    result = invoke(runner, "convert", src, tmp_path / "lake", "--warehouse", warehouse_dir)
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(warehouse_dir / "warehouse.duckdb"), read_only=True) as con:
        got = con.execute(
            "SELECT latitude::VARCHAR, longitude::VARCHAR, metric_1::VARCHAR, metric_2::VARCHAR, "
            "metric_3::VARCHAR FROM telemetry"
        ).fetchall()
    assert got == [("36.123457", "-119.000001", "12.3457", "-0.0001", "99999.9999")]


def test_view_is_queryable_from_a_fresh_duckdb_process(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    import subprocess
    import sys

    invoke(runner, "convert", csv_dir, tmp_path / "lake", "--warehouse", warehouse_dir)
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        'print(c.execute("SELECT count(*), count(DISTINCT (site, datetime)) FROM telemetry").fetchone())'
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(warehouse_dir / "warehouse.duckdb")],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    assert out.stdout.strip() == "(1500, 1500)"


def test_running_twice_leaves_the_lake_byte_for_byte_the_same(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    before = _lake_digest(lake)
    again = invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    assert again.exit_code == 0
    assert again.stdout == ""
    assert "3 already converted" in again.stderr
    assert _lake_digest(lake) == before


def test_a_second_run_converts_only_new_files(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    before = _lake_digest(lake)
    invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", csv_dir)
    second = invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    assert converted_sources(second.stdout) == [str((csv_dir / "telemetry_2020-01-01_03.csv").resolve())]
    after = _lake_digest(lake)
    assert {k: v for k, v in after.items() if k in before} == before
    assert len(_view_rows(warehouse_dir)) == 2000


@pytest.mark.parametrize("bad_name", ["a_first.csv", "z_last.csv"])
def test_every_converted_source_is_done_when_the_run_ends(runner, warehouse_dir, csv_dir, tmp_path, bad_name) -> None:
    (csv_dir / bad_name).write_text(HEADER_LINE + "\nnot,a,row\n")
    result = invoke(runner, "convert", csv_dir, tmp_path / "lake", "--warehouse", warehouse_dir)
    assert result.exit_code == ExitCode.REJECTED
    with duckdb.connect(str(warehouse_dir / "state.duckdb"), read_only=True) as con:
        statuses = con.execute("SELECT status, count(*) FROM conversions GROUP BY ALL").fetchall()
        rejected = con.execute("SELECT count(*) FROM rejections").fetchone()
    assert statuses == [("done", 3)]
    assert rejected == (1,)


def test_touching_a_file_without_changing_it_is_not_a_change(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    (csv_dir / "telemetry_2020-01-01_00.csv").touch()
    again = invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    assert again.exit_code == 0
    assert "3 already converted" in again.stderr


def test_a_changed_file_is_reported_and_replaced_only_with_the_flag(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    target = csv_dir / "telemetry_2020-01-01_00.csv"
    lines = target.read_text().splitlines(keepends=True)
    # Keep only the Texas rows: the new version has fewer partitions than the old.
    target.write_text(lines[0] + "".join(line for line in lines[1:] if ",TX," in line))
    texas_rows = sum(1 for line in lines[1:] if ",TX," in line)
    before = _lake_digest(lake)

    reported = invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    assert reported.exit_code == ExitCode.SOURCE_CHANGED
    assert f"changed since it was converted: {target.resolve()}" in reported.stderr
    assert _lake_digest(lake) == before

    replaced = invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir, "--replace-changed")
    assert replaced.exit_code == 0, replaced.output
    with duckdb.connect(str(warehouse_dir / "warehouse.duckdb"), read_only=True) as con:
        per_hour = dict(con.execute("SELECT hour, count(*) FROM telemetry GROUP BY hour").fetchall())
    assert per_hour == {0: texas_rows, 1: 500, 2: 500}


def test_other_files_and_folders_in_src_are_left_alone(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    (csv_dir / "notes.txt").write_text("hello")
    (csv_dir / "nested").mkdir()
    shutil.copy(csv_dir / "telemetry_2020-01-01_00.csv", csv_dir / "nested" / "copy.csv")
    (csv_dir / ".telemetry_2020-01-01_09.csv.123.tmp").write_text(HEADER_LINE[:30])
    result = invoke(runner, "convert", csv_dir, tmp_path / "lake", "--warehouse", warehouse_dir)
    assert result.exit_code == 0
    assert len(converted_sources(result.stdout)) == 3
    assert (csv_dir / "notes.txt").read_text() == "hello"


def test_convert_works_on_a_fresh_warehouse_for_production_csvs(runner, csv_dir, tmp_path) -> None:
    result = invoke(runner, "convert", csv_dir, tmp_path / "lake", "--warehouse", tmp_path / "prod")
    assert result.exit_code == 0
    assert len(_view_rows(tmp_path / "prod")) == 1500


def test_status_lists_conversions(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    invoke(runner, "convert", csv_dir, tmp_path / "lake", "--warehouse", warehouse_dir)
    status = invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    assert "converted_files: 3" in status
    assert "converted_rows: 1500" in status


@pytest.mark.parametrize("inside", [".", "more"])
def test_tick_refuses_to_write_into_the_lake(runner, warehouse_dir, csv_dir, tmp_path, inside) -> None:
    lake = tmp_path / "lake"
    invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    before = sorted(p.name for p in lake.iterdir())
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", lake / inside)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "inside the warehouse's lake" in result.stderr
    assert sorted(p.name for p in lake.iterdir()) == before


def test_status_reads_a_warehouse_made_before_its_latest_columns(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    invoke(runner, "convert", csv_dir, tmp_path / "lake", "--warehouse", warehouse_dir)
    # What a warehouse converted by an older duckwifi looks like: the ledger without the newer columns.
    with duckdb.connect(str(warehouse_dir / "state.duckdb")) as con:
        con.execute("ALTER TABLE conversions DROP COLUMN set_aside_rows")
        con.execute("ALTER TABLE conversions DROP COLUMN output_bytes")
    status = invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    assert "converted_files: 3" in status
    assert "set_aside_rows: 0" in status
    # The read brought the tables up to date once; the converted files are still the ledger's.
    assert invoke(runner, "check", "--warehouse", warehouse_dir).exit_code == 0


# One case per argument; paths are relative to the test's folder (the current directory), where "csv" holds
# three good hours and "a_file" is a plain file.
BAD_CONVERT_ARGUMENTS = {
    "SRC missing": (["missing_src", "lake"], "source folder missing_src does not exist or is not a folder"),
    "SRC a file": (["a_file", "lake"], "source folder a_file does not exist or is not a folder"),
    "LAKE missing": (["csv"], "Missing argument 'LAKE'"),
    "LAKE a file": (["csv", "a_file"], "lake folder a_file is a file, not a folder"),
    "LAKE cannot be created": (["csv", "/proc/duckwifi-lake"], "cannot create lake folder /proc/duckwifi-lake"),
    "--warehouse blank": (["csv", "lake", "--warehouse", " "], "Invalid value for '--warehouse'"),
    "--warehouse a file": (["csv", "lake", "--warehouse", "a_file"], "warehouse folder a_file is a file, not a folder"),
    "--replace-changed with a value": (
        ["csv", "lake", "--replace-changed=yes"],
        "Option '--replace-changed' does not take a value",
    ),
    "an unknown option": (["csv", "lake", "--replace"], "No such option: --replace"),
    "LAKE is SRC": (["csv", "csv"], "is the CSV folder itself; give the lake a folder of its own"),
}


@pytest.mark.parametrize("case", list(BAD_CONVERT_ARGUMENTS), ids=list(BAD_CONVERT_ARGUMENTS))
def test_bad_convert_arguments(runner, warehouse_dir, csv_dir, tmp_path, case: str) -> None:
    args, message = BAD_CONVERT_ARGUMENTS[case]
    (tmp_path / "a_file").write_text("x")
    if "--warehouse" not in args:
        args = [*args, "--warehouse", str(warehouse_dir)]
    result = invoke(runner, "convert", *args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "lake").exists(), "nothing is created for a bad argument"
    assert (tmp_path / "a_file").read_text() == "x"


def test_a_header_only_file_converts_to_nothing_and_the_view_waits(runner, warehouse_dir, tmp_path) -> None:
    # Found by the fuzz test: creating the view over a lake with no Parquet file failed.
    src = tmp_path / "src"
    src.mkdir()
    (src / "empty_hour.csv").write_text(HEADER_LINE + "\n")
    result = invoke(runner, "convert", src, tmp_path / "lake", "--warehouse", warehouse_dir)
    assert result.exit_code == 0, result.output
    assert "converted 1 file(s), 0 rows" in result.stderr
    again = invoke(runner, "convert", src, tmp_path / "lake", "--warehouse", warehouse_dir)
    assert again.exit_code == 0
    assert "1 already converted" in again.stderr


def test_a_source_that_vanishes_mid_run_is_rejected_and_the_run_goes_on(warehouse_dir, csv_dir, tmp_path) -> None:
    from duckwifi.converter.lake import convert
    from duckwifi.warehouse import Warehouse

    files = sorted(csv_dir.glob("*.csv"))

    def delete_the_next(done: Path) -> None:
        if done == files[0].resolve():
            files[1].unlink()

    report = convert(Warehouse(warehouse_dir), csv_dir, tmp_path / "lake", on_file=delete_the_next)
    assert [c.source for c in report.converted] == [files[0].resolve(), files[2].resolve()]
    (rejection,) = report.rejected
    assert rejection.path == files[1].resolve()
    assert "cannot read" in rejection.reason


def test_convert_prints_one_line_per_source_with_what_it_wrote(runner, warehouse_dir, csv_dir, tmp_path) -> None:
    lake = tmp_path / "lake"
    result = invoke(runner, "convert", csv_dir, lake, "--warehouse", warehouse_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    for hour, line in enumerate(lines):
        source = (csv_dir / f"telemetry_2020-01-01_{hour:02d}.csv").resolve()
        partitions = {p.parent for p in lake.rglob(f"{source.stem}-*.parquet")}
        files = [p for p in lake.rglob(f"{source.stem}-*.parquet")]
        assert line == (
            f"{source}\t500 rows -> {len(files)} file(s) in {len(partitions)} partition(s) "
            f"under date=01-01-20/hour={hour}"
        )
