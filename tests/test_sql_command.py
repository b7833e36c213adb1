"""`duckwifi sql`: queries over the readers' views, in every format, and nothing that writes."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from duckwifi.errors import ExitCode
from tests.conftest import invoke, run_cli

DEVICES = 200


@pytest.fixture
def converted(runner, tmp_path: Path) -> Path:
    wh, csv, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert invoke(runner, "init", "--warehouse", wh, "--devices", DEVICES).exit_code == 0
    assert invoke(runner, "tick", "--warehouse", wh, "--out", csv, "--hours", "2").exit_code == 0
    assert invoke(runner, "convert", csv, lake, "--warehouse", wh).exit_code == 0
    return wh


def test_a_lake_folder_that_is_gone_is_an_error_not_zero_rows(runner, converted, tmp_path: Path) -> None:
    """A moved or unmounted lake: `sql` says so (exit 17), and the readers' views still glob it, so a notebook
    is told no file is there too, even after a tick rebuilt warehouse.duckdb; neither counts 0 rows."""
    (tmp_path / "lake").rename(tmp_path / "lake.offline")
    result = invoke(runner, "sql", "-w", converted, "SELECT count(*) FROM telemetry")
    assert result.exit_code == ExitCode.LAKE_UNREADABLE, result.output
    assert result.stderr == f"duckwifi: error: the lake {tmp_path / 'lake'} is gone (moved, or on a disk that is " + (
        "not mounted); `duckwifi convert SRC NEW_PATH` re-points the warehouse to a moved lake\n"
    )
    assert invoke(runner, "tick", "--warehouse", converted, "--out", tmp_path / "csv").exit_code == 0
    with (
        duckdb.connect(str(converted / "warehouse.duckdb"), read_only=True) as con,
        pytest.raises(duckdb.IOException, match="No files found"),
    ):
        con.execute("SELECT count(*) FROM telemetry").fetchall()
    (tmp_path / "lake.offline").rename(tmp_path / "lake")
    restored = invoke(runner, "sql", "-w", converted, "SELECT count(*) AS n FROM telemetry")
    assert restored.stdout == f"n\n{2 * DEVICES}\n"


@pytest.mark.parametrize("damage", ["damaged", "gone"])
def test_a_damaged_rollup_manifest_leaves_telemetry_readable(runner, converted, damage: str) -> None:
    """The rollup views are missing then: a query of one is exit 5 with the store's way out, not a usage error;
    a name that is not there at all stays the user's to fix."""
    manifest = converted / "rollups" / "manifest.json"
    if damage == "damaged":
        manifest.write_text("{")
    else:
        manifest.unlink()
    result = invoke(runner, "sql", "-w", converted, "SELECT count(*) AS n FROM telemetry")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"n\n{2 * DEVICES}\n"
    cells = invoke(runner, "sql", "-w", converted, "SELECT count(*) FROM rollup_cells")
    assert cells.exit_code == ExitCode.CORRUPT
    assert "rollup_cells does not exist" in cells.stderr
    assert "the rollup views are missing, since" in cells.stderr
    assert cells.stderr.endswith("run `duckwifi rollup --rebuild`\n")
    assert len(cells.stderr.splitlines()) == 1
    # Another name that is not there is still the user's mistake.
    typo = invoke(runner, "sql", "-w", converted, "SELECT * FROM no_such_table")
    assert typo.exit_code == ExitCode.USAGE
    assert typo.stderr == "duckwifi: error: Catalog Error: Table with name no_such_table does not exist!\n"
    assert invoke(runner, "sql", "-w", converted, "SELECT * FROM Rollup_Units").exit_code == ExitCode.CORRUPT
    assert invoke(runner, "rollup", "--rebuild", "-w", converted).exit_code == 0
    assert invoke(runner, "sql", "-w", converted, "SELECT count(*) FROM rollup_cells").exit_code == 0
    assert invoke(runner, "sql", "-w", converted, "SELECT * FROM no_such_table").exit_code == ExitCode.USAGE


def test_a_rollup_view_over_a_listed_unit_that_is_gone_is_exit_5_not_part_of_the_answer(runner, converted) -> None:
    """The views read the units the manifest lists; one deleted by hand would be left out in silence."""
    import shutil

    (gone,) = sorted((converted / "rollups" / "units").iterdir())[:1]
    shutil.rmtree(gone)
    result = invoke(runner, "sql", "-w", converted, "SELECT sum(rows) FROM rollup_stats")
    assert result.exit_code == ExitCode.CORRUPT, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("duckwifi: error: 1 unit(s) the rollup store lists are gone from ")
    assert result.stderr.endswith("run `duckwifi rollup --rebuild` to rebuild the store from the lake\n")
    # Telemetry does not depend on the store.
    assert invoke(runner, "sql", "-w", converted, "SELECT count(*) FROM telemetry").exit_code == 0
    assert invoke(runner, "rollup", "--rebuild", "-w", converted).exit_code == 0
    fixed = invoke(runner, "sql", "-w", converted, "SELECT sum(rows) AS n FROM rollup_stats WHERE metric = 'metric_1'")
    assert fixed.stdout == f"n\n{2 * DEVICES}\n"


def test_the_map_cells_view_gives_both_coordinates_as_double(runner, converted) -> None:
    query = "SELECT DISTINCT typeof(lat) || ' ' || typeof(lon) AS types FROM rollup_cells"
    assert invoke(runner, "sql", "-w", converted, query).stdout == "types\nDOUBLE DOUBLE\n"


def test_piped_output_is_csv_with_a_header(runner, converted) -> None:
    result = invoke(
        runner, "sql", "-w", converted, "SELECT hour, count(*) AS n FROM telemetry GROUP BY hour ORDER BY hour"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"hour,n\n0,{DEVICES}\n1,{DEVICES}\n"


def test_json_is_an_array_of_objects_with_numbers_and_iso_times(runner, converted) -> None:
    query = "SELECT site, metric_1, day, hour_start FROM telemetry WHERE site = 7 ORDER BY hour_start"
    result = invoke(runner, "sql", "-w", converted, "--format", "json", query)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["hour_start"] for r in rows] == ["2020-01-01T00:00:00", "2020-01-01T01:00:00"]
    assert all(r["site"] == 7 and r["day"] == "2020-01-01" for r in rows)
    assert all(isinstance(r["metric_1"], float) for r in rows)
    empty = invoke(runner, "sql", "-w", converted, "-f", "json", "SELECT 1 AS x WHERE false")
    assert json.loads(empty.stdout) == []


def test_parquet_goes_to_a_file_and_needs_output(runner, converted, tmp_path: Path) -> None:
    target = tmp_path / "one-hour.parquet"
    query = "SELECT * FROM telemetry_between('2020-01-01 01:00:00', '2020-01-01 02:00:00')"
    result = invoke(runner, "sql", "-w", converted, "-f", "parquet", "-o", target, query)
    assert result.exit_code == 0, result.output
    assert duckdb.sql(f"SELECT count(*) FROM '{target}'").fetchall() == [(DEVICES,)]
    missing = invoke(runner, "sql", "-w", converted, "-f", "parquet", query)
    assert missing.exit_code == ExitCode.USAGE
    assert "--output" in missing.stderr


def test_a_table_in_a_terminal(converted) -> None:
    # Not a terminal here, so ask for the table explicitly; the box drawing is DuckDB's own.
    result = run_cli("sql", "-w", converted, "-f", "table", "SELECT count(*) AS rows FROM devices")
    assert result.returncode == 0, result.stderr
    assert "rows" in result.stdout
    assert str(DEVICES) in result.stdout
    assert "┌" in result.stdout


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE t AS SELECT 1",
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET a = 1",
        "DELETE FROM t",
        "DROP VIEW telemetry",
        "COPY (SELECT 1) TO 'written.csv'",
        "EXPLAIN ANALYZE COPY (SELECT 1) TO 'written.csv'",
        "EXPLAIN (ANALYZE, FORMAT json) COPY (SELECT 1) TO 'written.csv'",
        # A comment that a pattern would read as the end of EXPLAIN's options: DuckDB's tokenizer does not.
        "EXPLAIN (ANALYZE /*) SELECT 1 --*/) COPY (SELECT 42 AS x) TO 'written.csv'",
        "/* a comment first */ COPY (SELECT 1) TO 'written.csv'",
        "ATTACH 'other.duckdb'",
        "INSTALL h3",
        "LOAD json",
        "SET threads = 1",
        "PRAGMA enable_profiling",
        "CALL checkpoint()",
        "EXPORT DATABASE 'exported'",
    ],
)
def test_a_statement_that_writes_is_refused_before_it_runs(runner, converted, tmp_path: Path, statement) -> None:
    result = invoke(runner, "sql", "-w", converted, statement)
    assert result.exit_code == ExitCode.STATEMENT_REFUSED, result.output
    assert result.stderr.startswith("duckwifi: error: refused")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "written.csv").exists()
    assert not (tmp_path / "other.duckdb").exists()


def test_a_pivot_runs_with_its_values_listed_and_says_so_without_them(runner, converted) -> None:
    listed = "PIVOT (SELECT state, band, metric_1 FROM telemetry) ON band IN (1, 2) USING count(*) GROUP BY state"
    result = invoke(runner, "sql", "-w", converted, "--format", "csv", listed)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "state,1,2"
    unlisted = invoke(runner, "sql", "-w", converted, "PIVOT telemetry ON band USING count(*) GROUP BY state")
    assert unlisted.exit_code == ExitCode.STATEMENT_REFUSED
    assert "list the values, as in PIVOT ... ON band IN (1, 2, 3)" in unlisted.stderr


@pytest.mark.parametrize(
    ("query", "code"),
    [("SELECT 1; SELECT 2", ExitCode.USAGE), ("SELEC 1", ExitCode.USAGE), ("SELECT * FROM nowhere", ExitCode.USAGE)],
)
def test_bad_queries_are_one_line_usage_errors(runner, converted, query: str, code: int) -> None:
    result = invoke(runner, "sql", "-w", converted, query)
    assert result.exit_code == code
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("output_format", ["table", "csv", "json", "parquet"])
def test_a_query_that_fails_while_it_runs_is_a_one_line_usage_error(
    runner, converted, tmp_path: Path, output_format: str
) -> None:
    # It binds, so the failure comes only once rows are produced (for a table, while DuckDB renders it).
    query = "SELECT x::INTEGER FROM (VALUES ('1'), ('not a number')) AS t (x)"
    folder = tmp_path / "out"
    folder.mkdir()
    output = folder / f"out.{output_format}"
    result = invoke(runner, "sql", "-w", converted, "-f", output_format, "-o", output, query)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert result.stderr.startswith("duckwifi: error: Conversion Error")
    assert len(result.stderr.strip().splitlines()) == 1
    # Nothing written, not even the temporary file.
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    "query",
    [
        "EXPLAIN SELECT count(*) FROM telemetry",
        "EXPLAIN ANALYZE SELECT count(*) FROM telemetry",
        "EXPLAIN (ANALYZE, FORMAT json) SELECT count(*) FROM telemetry",
        "-- a comment\nSELECT count(*) FROM telemetry",
        "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
        "DESCRIBE telemetry",
        "SUMMARIZE SELECT metric_1 FROM telemetry",
    ],
)
def test_queries_and_explain_of_queries_run(runner, converted, query: str) -> None:
    result = invoke(runner, "sql", "-w", converted, "--", query)
    assert result.exit_code == 0, result.output
    assert result.stdout


def test_python_variables_are_not_tables(runner, converted) -> None:
    """DuckDB's Python client would read a variable named in FROM (a replacement scan); not here."""
    result = invoke(runner, "sql", "-w", converted, "SELECT * FROM write_csv")
    assert result.exit_code == ExitCode.USAGE
    assert "adhoc" not in result.stderr


@pytest.mark.parametrize("where", ["missing-folder/x.csv", "."])
def test_an_output_that_cannot_be_written_is_a_usage_error(runner, converted, tmp_path: Path, where: str) -> None:
    result = invoke(runner, "sql", "-w", converted, "--output", tmp_path / where, "SELECT 1 AS x")
    assert result.exit_code == ExitCode.USAGE, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert ".tmp" not in result.stderr


def test_reading_files_is_allowed(runner, converted, tmp_path: Path) -> None:
    (tmp_path / "extra.csv").write_text("a,b\n1,2\n")
    result = invoke(runner, "sql", "-w", converted, f"SELECT a + b AS c FROM read_csv('{tmp_path / 'extra.csv'}')")
    assert result.stdout == "c\n3\n"


def test_a_notebook_holding_warehouse_duckdb_for_writing_does_not_stop_it(converted) -> None:
    with duckdb.connect(str(converted / "warehouse.duckdb")) as notebook:
        notebook.execute("SELECT count(*) FROM telemetry").fetchone()
        result = run_cli("sql", "-w", converted, "SELECT count(*) FROM telemetry", env={"DUCKWIFI_OPEN_TIMEOUT": "0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"count_star()\n{2 * DEVICES}\n"


def test_a_missing_warehouse(runner, tmp_path: Path) -> None:
    result = invoke(runner, "sql", "-w", tmp_path / "nowhere", "SELECT 1")
    assert result.exit_code == ExitCode.NOT_INITIALIZED


def test_a_damaged_devices_file_is_exit_5_naming_it(runner, converted) -> None:
    devices = converted / "devices.parquet"
    with devices.open("r+b") as file:
        file.truncate(1000)
    result = invoke(runner, "sql", "-w", converted, "SELECT count(*) FROM devices")
    assert result.exit_code == ExitCode.CORRUPT, result.output
    assert result.stderr.count("\n") == 1
    assert str(devices) in result.stderr


def test_csv_writes_nested_and_other_values_as_duckdb_text(runner, converted) -> None:
    query = (
        "SELECT [1.5::DECIMAL(9,4)] AS a, {'x': 1.25::DECIMAL(9,4), 'd': DATE '2020-01-01'} AS a,"
        " [TIMESTAMP '2020-01-01 01:00:00'] AS c, true AS t, INTERVAL 1 HOUR AS iv, [NULL::INT, 1] AS e,"
        " NULL::INT AS missing, 2.5::DECIMAL(9,4) AS d"
    )
    result = invoke(runner, "sql", "-w", converted, "--format", "csv", query)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "a,a,c,t,iv,e,missing,d",
        "[1.5000],\"{'x': 1.2500, 'd': 2020-01-01}\",['2020-01-01 01:00:00'],true,01:00:00,\"[NULL, 1]\",,2.5000",
    ]
    quantiles = invoke(
        runner, "sql", "-w", converted, "-f", "csv", "SELECT quantile_disc(metric_6, [0.5, 0.9]) AS q FROM telemetry"
    )
    assert quantiles.exit_code == 0, quantiles.output
    assert "Decimal" not in quantiles.stdout
    assert quantiles.stdout.splitlines()[1].startswith('"[')


@pytest.mark.parametrize("output_format", ["csv", "json"])
def test_a_query_that_fails_while_it_runs_writes_nothing_to_stdout(runner, converted, output_format: str) -> None:
    result = invoke(runner, "sql", "-w", converted, "-f", output_format, "SELECT error('boom') AS x FROM telemetry")
    assert result.exit_code == ExitCode.USAGE, result.output
    assert result.stdout == ""
    assert result.stderr.strip().endswith("boom")
