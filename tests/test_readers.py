"""The readers' database: readers never block the pipeline, and time filters read only their hours' files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from duckwifi import readers
from duckwifi.warehouse import READERS_STAMP_NAME, Warehouse
from tests.conftest import invoke, run_cli

DEVICES = 300

# A reader process like a notebook: opens warehouse.duckdb once and answers a query per line of stdin.
READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read_only")
for query in sys.stdin:
    print(con.execute(query).fetchone()[0], flush=True)
"""


@pytest.fixture
def converted(runner, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A warehouse of 300 devices with one hour converted: (warehouse, csv folder, lake)."""
    wh, csv, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert invoke(runner, "init", "--warehouse", wh, "--devices", DEVICES).exit_code == 0
    assert invoke(runner, "tick", "--warehouse", wh, "--out", csv).exit_code == 0
    assert invoke(runner, "convert", csv, lake, "--warehouse", wh).exit_code == 0
    return wh, csv, lake


def _ask(reader: subprocess.Popen, query: str) -> str:
    assert reader.stdin is not None
    assert reader.stdout is not None
    reader.stdin.write(query + "\n")
    reader.stdin.flush()
    return reader.stdout.readline().strip()


@pytest.mark.parametrize("mode", ["read_only", "read_write"])
def test_a_reader_held_open_never_blocks_tick_or_convert_and_sees_new_hours(converted, mode: str) -> None:
    wh, csv, lake = converted
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(wh / "warehouse.duckdb"), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _ask(reader, "SELECT count(*) FROM telemetry") == str(DEVICES)
        # A timeout of 0: any wait for a lock held by the reader would be an immediate "busy" (exit 4).
        no_waiting = {"DUCKWIFI_OPEN_TIMEOUT": "0"}
        for _ in range(2):
            tick = run_cli("tick", "--warehouse", wh, "--out", csv, "--hours", "2", env=no_waiting)
            assert tick.returncode == 0, tick.stderr
            convert = run_cli("convert", csv, lake, "--warehouse", wh, env=no_waiting)
            assert convert.returncode == 0, convert.stderr
        # The same connection, never reopened, sees the new hours: the view globs the lake.
        assert _ask(reader, "SELECT count(*) FROM telemetry") == str(5 * DEVICES)
        assert _ask(reader, "SELECT count(DISTINCT hour_start) FROM telemetry") == "5"
    finally:
        reader.stdin.close()  # type: ignore[union-attr]
        reader.wait(timeout=30)
    assert reader.returncode == 0, reader.stderr.read()  # type: ignore[union-attr]


def test_an_unchanged_definition_never_replaces_the_readers_database(converted) -> None:
    wh, _, lake = converted
    before = (wh / "warehouse.duckdb").stat().st_ino
    assert readers.refresh(Warehouse(wh), lake) is False
    assert (wh / "warehouse.duckdb").stat().st_ino == before


def test_a_moved_lake_rebuilds_the_readers_database(runner, converted, tmp_path: Path) -> None:
    wh, csv, lake = converted
    moved = tmp_path / "moved-lake"
    os.replace(lake, moved)
    assert invoke(runner, "convert", csv, moved, "--warehouse", wh).exit_code in (0, 6, 9, 10, 11)
    assert readers.refresh(Warehouse(wh), moved) is False  # already rebuilt by that convert
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM telemetry").fetchone() == (DEVICES,)


def test_a_wal_left_by_a_read_write_reader_never_reaches_the_new_file(converted) -> None:
    wh, _, lake = converted
    writer = duckdb.connect(str(wh / "warehouse.duckdb"))
    try:
        writer.execute("CREATE TABLE notebook_scratch AS SELECT 42 AS answer")
        assert (wh / "warehouse.duckdb.wal").exists()
        (wh / READERS_STAMP_NAME).write_text("an older definition\n")  # as after a duckwifi upgrade
        assert readers.refresh(Warehouse(wh), lake) is True
        assert not (wh / "warehouse.duckdb.wal").exists()
        assert list(wh.glob("warehouse.duckdb.wal.stale-*"))
        # Another process opens the new file while the read-write reader still holds the old one: no table of
        # the old file's WAL in it, and the views work.
        answer = subprocess.run(
            [sys.executable, "-c", READER, str(wh / "warehouse.duckdb"), "read_only"],
            input="SELECT (SELECT count(*) FROM duckdb_tables()) * 1000000 + (SELECT count(*) FROM telemetry)\n",
            capture_output=True,
            text=True,
            check=False,
        )
        assert answer.stdout.strip() == str(DEVICES), answer.stderr
        assert answer.returncode == 0, answer.stderr
    finally:
        writer.close()
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM telemetry").fetchone() == (DEVICES,)


def test_a_warehouse_made_before_state_duckdb_is_adopted(runner, converted) -> None:
    """An older warehouse kept its state in warehouse.duckdb: the first command moves it to state.duckdb."""
    wh, csv, lake = converted
    (wh / "warehouse.duckdb").unlink()
    (wh / READERS_STAMP_NAME).unlink()
    os.replace(wh / "state.duckdb", wh / "warehouse.duckdb")
    status = invoke(runner, "status", "--warehouse", wh)
    assert status.exit_code == 0, status.output
    assert f"devices: {DEVICES}" in status.stdout
    assert (wh / "state.duckdb").is_file()
    assert invoke(runner, "convert", csv, lake, "--warehouse", wh).exit_code == 0
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM telemetry").fetchone() == (DEVICES,)


def _files_read(con: duckdb.DuckDBPyConnection, query: str) -> int:
    plan = con.execute("EXPLAIN ANALYZE " + query).fetchall()[0][1]
    (line,) = [line for line in plan.splitlines() if "Total Files Read:" in line]
    return int(line.split("Total Files Read:")[1].strip(" │"))


def test_time_filters_on_day_hour_start_and_telemetry_between_read_only_their_files(runner, converted) -> None:
    wh, csv, lake = converted
    assert invoke(runner, "tick", "--warehouse", wh, "--out", csv, "--hours", "26").exit_code == 0
    assert invoke(runner, "convert", csv, lake, "--warehouse", wh).exit_code == 0
    files_per_hour = len(list((lake / "date=01-01-20" / "hour=0").glob("*/*/*.parquet")))
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        every = _files_read(con, "SELECT count(*) FROM telemetry")
        assert every == len(list(lake.rglob("*.parquet")))
        one_hour = "SELECT count(*) FROM telemetry_between('2020-01-01 05:00:00', '2020-01-01 06:00:00')"
        assert con.execute(one_hour).fetchone() == (DEVICES,)
        assert _files_read(con, one_hour) == files_per_hour
        second_day = "SELECT count(*) FROM telemetry WHERE day = DATE '2020-01-02'"
        assert con.execute(second_day).fetchone() == (3 * DEVICES,)
        assert _files_read(con, second_day) < every / 4
        # A range across midnight, compared as timestamps (text dates would sort 02-01-20 before 31-12-19).
        across = (
            "SELECT count(*) FROM telemetry "
            "WHERE hour_start >= '2020-01-01 23:00:00' AND hour_start < '2020-01-02 01:00:00'"
        )
        assert con.execute(across).fetchone() == (2 * DEVICES,)
        assert _files_read(con, across) <= 2 * files_per_hour + 2


def test_a_wal_left_by_a_killed_read_write_reader_is_set_aside_by_the_next_command(runner, converted) -> None:
    wh, csv, _ = converted
    notebook = (
        "import os, sys, duckdb\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute('CREATE TABLE scratch AS SELECT 1 AS x')\n"
        "os.kill(os.getpid(), 9)\n"
    )
    killed = subprocess.run([sys.executable, "-c", notebook, str(wh / "warehouse.duckdb")], check=False)
    assert killed.returncode == -9
    assert (wh / "warehouse.duckdb.wal").exists()
    # Nothing changed in the views, yet the next command frees warehouse.duckdb for readers again.
    assert invoke(runner, "tick", "--warehouse", wh, "--out", csv).exit_code == 0
    assert not (wh / "warehouse.duckdb.wal").exists()
    probe = subprocess.run(
        [sys.executable, "-c", READER, str(wh / "warehouse.duckdb"), "read_only"],
        input="SELECT count(*) FROM telemetry\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.stdout.strip() == str(DEVICES), probe.stderr


def test_telemetry_stays_an_empty_view_of_the_same_columns_when_every_source_is_forgotten(runner, converted) -> None:
    wh, csv, lake = converted
    sql = ["sql", "--warehouse", str(wh)]
    columns = run_cli(*sql, "DESCRIBE SELECT * FROM telemetry").stdout
    source = next(csv.glob("*.csv"))
    assert invoke(runner, "forget", "--warehouse", wh, source).exit_code == 0
    empty = run_cli(*sql, "SELECT count(*) AS n FROM telemetry")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.splitlines() == ["n", "0"]
    assert run_cli(*sql, "DESCRIBE SELECT * FROM telemetry").stdout == columns
    between = run_cli(*sql, "SELECT count(*) AS n FROM telemetry_between('2020-01-01', '2020-01-02')")
    assert between.stdout.splitlines() == ["n", "0"]
    # The next convert brings the lake's view back.
    assert invoke(runner, "convert", csv, lake, "--warehouse", wh).exit_code == 0
    assert run_cli(*sql, "SELECT count(*) AS n FROM telemetry").stdout.splitlines() == ["n", str(DEVICES)]
