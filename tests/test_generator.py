"""`duckwifi init` and `duckwifi tick` through the CLI, against a real warehouse and real CSV files."""

from __future__ import annotations

import csv
import fcntl
import os
import subprocess
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from duckwifi.contract import CONTIGUOUS_STATES, HEADER_LINE
from duckwifi.errors import ExitCode
from duckwifi.generator.catalogue import METRICS
from tests.conftest import invoke, run_cli


def _clock(warehouse: Path) -> datetime:
    with duckdb.connect(str(warehouse / "state.duckdb"), read_only=True) as con:
        return con.execute("SELECT next_hour FROM generator").fetchone()[0]


def test_init_creates_devices_table_and_parquet(warehouse_dir: Path) -> None:
    assert (warehouse_dir / "devices.parquet").is_file()
    with duckdb.connect(str(warehouse_dir / "state.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT count(*), count(DISTINCT site) FROM devices").fetchone()
        assert rows == (500, 500)
        parquet = con.execute(
            "SELECT count(*) FROM (SELECT * FROM devices EXCEPT "
            "SELECT region, state, latitude, longitude, site, cell, sector, band FROM read_parquet($p))",
            {"p": str(warehouse_dir / "devices.parquet")},
        ).fetchone()
        assert parquet == (0,)
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE devices)").fetchall())
        assert (types["latitude"], types["longitude"]) == ("DECIMAL(8,6)", "DECIMAL(9,6)")
        ranges = con.execute(
            "SELECT min(cell), max(cell), min(sector), max(sector), min(band), max(band) FROM devices"
        ).fetchone()
        assert min(ranges) >= 1
        assert max(ranges) <= 10
        states = {s for (s,) in con.execute("SELECT DISTINCT state FROM devices").fetchall()}
        assert states <= CONTIGUOUS_STATES
        pairs = dict(con.execute("SELECT DISTINCT state, region FROM devices").fetchall())
    assert pairs.get("CA", "West") == "West"
    assert pairs.get("TX", "South") == "South"
    assert pairs.get("NY", "Northeast") == "Northeast"
    assert set(pairs.values()) <= {"Northeast", "Midwest", "South", "West"}
    assert _clock(warehouse_dir) == datetime(2020, 1, 1)


def test_init_refuses_an_existing_warehouse_unless_forced(runner, warehouse_dir: Path) -> None:
    before = (warehouse_dir / "devices.parquet").read_bytes()
    refused = invoke(runner, "init", "--warehouse", warehouse_dir, "--devices", "100")
    assert refused.exit_code == ExitCode.ALREADY_INITIALIZED
    assert "already initialised" in refused.stderr
    assert (warehouse_dir / "devices.parquet").read_bytes() == before
    forced = invoke(runner, "init", "--warehouse", warehouse_dir, "--devices", "100", "--force")
    assert forced.exit_code == 0
    with duckdb.connect(str(warehouse_dir / "state.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM devices").fetchone() == (100,)


def test_tick_writes_one_csv_per_hour_with_the_contract(runner, warehouse_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out, "--hours", "3")
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("*.csv"))
    assert [p.name for p in files] == [
        "telemetry_2020-01-01_00.csv",
        "telemetry_2020-01-01_01.csv",
        "telemetry_2020-01-01_02.csv",
    ]
    assert result.stdout.split() == [str(p) for p in files]
    for hour, path in enumerate(files):
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        assert ",".join(rows[0]) == HEADER_LINE
        assert len(rows) == 1 + 500
        assert {r[0] for r in rows[1:]} == {f"2020-01-01 {hour:02d}:00:00"}
        sites = [int(r[5]) for r in rows[1:]]
        assert sorted(sites) == list(range(1, 501))
        for row in rows[1:3]:
            # Coordinates at the contract's six decimals, trailing zeros kept: the text is exact.
            assert all(len(value.partition(".")[2]) == 6 for value in row[3:5])
            metrics = row[9:]
            assert len(metrics) == 20
            # The fixture's fleet is realistic: each metric has its own printed decimals and physical range.
            for value, metric in zip(metrics, METRICS, strict=True):
                _whole, _, decimals = value.partition(".")
                assert len(decimals) == metric.decimals
                assert metric.lower <= float(value) <= metric.upper
    assert _clock(warehouse_dir) == datetime(2020, 1, 1, 3)
    status = invoke(runner, "status", "--warehouse", warehouse_dir)
    assert "hours_generated: 3" in status.stdout
    assert "clock: 2020-01-01 03:00:00" in status.stdout


def test_metrics_differ_between_hours_and_metrics(warehouse_dir: Path, runner, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out, "--hours", "2")
    first, second = (list(csv.reader(p.open()))[1:] for p in sorted(out.glob("*.csv")))
    assert first[0][9:] != second[0][9:]
    assert len(set(first[0][9:])) > 15


def test_same_seed_and_hour_give_byte_identical_files_other_seed_differs(runner, tmp_path: Path) -> None:
    outputs = {}
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        invoke(runner, "init", "--warehouse", tmp_path / name, "--devices", "300", "--seed", seed)
        invoke(runner, "tick", "--warehouse", tmp_path / name, "--out", tmp_path / f"out_{name}", "--hours", "2")
        outputs[name] = [p.read_bytes() for p in sorted((tmp_path / f"out_{name}").glob("*.csv"))]
    assert outputs["a"] == outputs["b"]
    assert outputs["a"][0] != outputs["c"][0]


def test_start_option_sets_the_clock(runner, tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    invoke(runner, "init", "--warehouse", wh, "--devices", "50", "--start", "2023-06-30 22:00:00")
    result = invoke(runner, "tick", "--warehouse", wh, "--out", tmp_path / "o", "--hours", "3")
    names = [Path(p).name for p in result.stdout.split()]
    assert names == [
        "telemetry_2023-06-30_22.csv",
        "telemetry_2023-06-30_23.csv",
        "telemetry_2023-07-01_00.csv",
    ]


def test_warehouse_from_environment_variable(runner, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DUCKWIFI_WAREHOUSE", str(tmp_path / "envwh"))
    assert invoke(runner, "init", "--devices", "20").exit_code == 0
    assert (tmp_path / "envwh" / "warehouse.duckdb").is_file()


def test_default_warehouse_is_dot_warehouse(runner, tmp_path: Path) -> None:
    assert invoke(runner, "init", "--devices", "20").exit_code == 0
    assert (tmp_path / "warehouse" / "warehouse.duckdb").is_file()


@pytest.mark.slow
def test_first_tick_initialises_a_fresh_warehouse_with_the_defaults(runner, tmp_path: Path) -> None:
    result = invoke(runner, "tick", "--warehouse", tmp_path / "fresh", "--out", tmp_path / "o")
    assert result.exit_code == 0
    assert "initialising it with the defaults" in result.stderr
    with duckdb.connect(str(tmp_path / "fresh" / "state.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM devices").fetchone() == (1_000_000,)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["init", "--devices", "0"], ExitCode.USAGE, "--devices must be between 1"),
        (["init", "--devices", "ten"], ExitCode.USAGE, "Invalid value for '--devices'"),
        (["init", "--start", "2020-01-01 00:30:00"], ExitCode.USAGE, "--start must fall on the hour"),
        (["tick", "--hours", "-1", "--out", "o"], ExitCode.USAGE, "--hours must be between 1"),
        (["tick", "--hours", "0", "--out", "o"], ExitCode.USAGE, "--hours must be between 1"),
        (["tick"], ExitCode.USAGE, "Missing option '--out'"),
        (["tock"], ExitCode.USAGE, "No such command"),
    ],
)
def test_bad_arguments_get_one_line_and_usage_code(runner, warehouse_dir: Path, args, code, message) -> None:
    result = invoke(runner, *args, "--warehouse", warehouse_dir) if args[0] != "tock" else invoke(runner, *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert _clock(warehouse_dir) == datetime(2020, 1, 1)


def test_a_bad_hours_on_a_new_warehouse_makes_no_fleet(runner, tmp_path: Path) -> None:
    """A first tick would initialise a default fleet (a million devices) before failing on --hours, and a later
    `init --devices N` would then be refused: the argument is checked before anything is made."""
    fresh = tmp_path / "fresh"
    result = invoke(runner, "tick", "--warehouse", fresh, "--out", tmp_path / "csv", "--hours", "0")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == "duckwifi: error: --hours must be between 1 and 8784, not 0\n"
    assert not (fresh / "state.duckdb").exists()
    assert invoke(runner, "init", "--warehouse", fresh, "--devices", "50").exit_code == 0


@pytest.mark.parametrize("in_the_way", ["telemetry_2020-01-01_05.csv", "telemetry_2020-01-01_00.csv.gz", "folder"])
def test_an_out_folder_in_the_way_on_a_new_warehouse_makes_no_fleet(runner, tmp_path: Path, in_the_way: str) -> None:
    """A first tick's --out holding a later hour (or a gzipped hour from the clock's on, which convert would read
    beside the one tick writes), or an hour's name taken by a folder: refused before the fleet is made."""
    fresh, out = tmp_path / "fresh", tmp_path / "csv"
    out.mkdir()
    if in_the_way == "folder":
        (out / "telemetry_2020-01-01_00.csv").mkdir()
    else:
        (out / in_the_way).write_bytes(b"x")
    result = invoke(runner, "tick", "--warehouse", fresh, "--out", out)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "already exists and was not written by this warehouse" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (fresh / "state.duckdb").exists()


def test_a_gzipped_hour_of_the_clock_or_later_stops_tick(runner, warehouse_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    assert invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out).exit_code == 0
    (out / "telemetry_2020-01-01_00.csv.gz").write_bytes(b"an earlier hour, gzipped: not in the way")
    (out / "telemetry_2020-01-01_03.csv.gz").write_bytes(b"x")
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert f"{out / 'telemetry_2020-01-01_03.csv.gz'} already exists" in result.stderr
    assert _clock(warehouse_dir) == datetime(2020, 1, 1, 1)


def test_a_file_given_as_out_is_refused(runner, warehouse_dir: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", a_file)
    assert result.exit_code == ExitCode.USAGE
    assert "is a file, not a folder" in result.stderr
    assert _clock(warehouse_dir) == datetime(2020, 1, 1)


def test_an_unwritable_out_folder_is_refused(runner, warehouse_dir: Path) -> None:
    # /proc refuses new folders even to root, unlike a chmod-ed folder.
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", "/proc/duckwifi-out")
    assert result.exit_code == ExitCode.USAGE
    assert "cannot create --out folder" in result.stderr
    assert _clock(warehouse_dir) == datetime(2020, 1, 1)


def test_status_of_a_missing_warehouse(runner, tmp_path: Path) -> None:
    result = invoke(runner, "status", "--warehouse", tmp_path / "nowhere")
    assert result.exit_code == ExitCode.NOT_INITIALIZED
    assert "no warehouse at" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["check"], ["check", "--repair"], ["forget", "x.csv"], ["rollup", "--rebuild"], ["serve", "--port", "0"]],
    ids=["check", "check --repair", "forget", "rollup", "serve"],
)
def test_a_mistyped_warehouse_is_refused_and_nothing_is_made(runner, tmp_path: Path, args: list[str]) -> None:
    nowhere = tmp_path / "nowhere"
    result = invoke(runner, *args, "--warehouse", nowhere)
    assert result.exit_code == ExitCode.NOT_INITIALIZED, result.output
    assert "no warehouse at" in result.stderr
    assert not nowhere.exists(), "a lock file (or the folder) was left behind"


def test_init_with_bad_arguments_makes_no_folder(runner, tmp_path: Path) -> None:
    result = invoke(runner, "init", "--warehouse", tmp_path / "wh", "--devices", "0")
    assert result.exit_code == ExitCode.USAGE
    assert not (tmp_path / "wh").exists()


def test_a_corrupt_warehouse_is_refused_with_a_hint_and_never_recreated(tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    wh.mkdir()
    garbage = b"this is not a duckdb file" * 200
    (wh / "warehouse.duckdb").write_bytes(garbage)
    for args in (["tick", "--out", tmp_path / "o"], ["status"], ["init", "--devices", "10"]):
        result = run_cli(*args, "--warehouse", wh)
        assert result.returncode == ExitCode.CORRUPT, result.stderr
        assert "looks damaged" in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert (wh / "warehouse.duckdb").read_bytes() == garbage


def test_init_force_sets_a_damaged_warehouse_aside_and_starts_over(tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    wh.mkdir()
    garbage = b"this is not a duckdb file" * 200
    (wh / "warehouse.duckdb").write_bytes(garbage)
    result = run_cli("init", "--devices", "10", "--force", "--warehouse", wh)
    assert result.returncode == 0, result.stderr
    (aside,) = wh.glob("warehouse.duckdb.damaged-*")
    assert aside.read_bytes() == garbage
    assert "devices: 10" in run_cli("status", "--warehouse", wh).stdout


def test_a_truncated_devices_parquet_is_refused(runner, warehouse_dir: Path, tmp_path: Path) -> None:
    parquet = warehouse_dir / "devices.parquet"
    parquet.write_bytes(parquet.read_bytes()[:100])
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", tmp_path / "o")
    assert result.exit_code == ExitCode.CORRUPT
    assert "devices file" in result.stderr
    assert _clock(warehouse_dir) == datetime(2020, 1, 1)
    assert not list((tmp_path / "o").iterdir())


def test_a_second_tick_while_one_runs_says_busy(warehouse_dir: Path, tmp_path: Path) -> None:
    # Hold the tick lock the way a running tick does, from this process; the CLI runs as another process.
    fd = os.open(warehouse_dir / "tick.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = run_cli("tick", "--warehouse", warehouse_dir, "--out", tmp_path / "o")
    finally:
        os.close(fd)
    assert result.returncode == ExitCode.BUSY
    assert "warehouse busy" in result.stderr
    assert _clock(warehouse_dir) == datetime(2020, 1, 1)


def test_a_raw_duckdb_lock_becomes_busy_not_a_traceback(warehouse_dir: Path, tmp_path: Path) -> None:
    # Only duckwifi opens state.duckdb; another program that does anyway makes the pipeline wait, then say busy.
    with duckdb.connect(str(warehouse_dir / "state.duckdb")):
        result = run_cli(
            "tick", "--warehouse", warehouse_dir, "--out", tmp_path / "o", env={"DUCKWIFI_OPEN_TIMEOUT": "0.5"}
        )
    assert result.returncode == ExitCode.BUSY, result.stderr
    assert "warehouse busy" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_duckdb_file_that_is_not_a_warehouse(tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    wh.mkdir()
    with duckdb.connect(str(wh / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE notes (text VARCHAR)")
    status = run_cli("status", "--warehouse", wh)
    assert status.returncode == ExitCode.NOT_INITIALIZED
    assert "is not a duckwifi warehouse yet" in status.stderr
    assert "Traceback" not in status.stderr
    assert run_cli("init", "--devices", "10", "--warehouse", wh).returncode == 0
    assert "devices: 10" in run_cli("status", "--warehouse", wh).stdout


def _rewind_clock_one_hour(warehouse: Path) -> None:
    """The state a tick killed after its rename, before its clock transaction, leaves behind."""
    with duckdb.connect(str(warehouse / "state.duckdb")) as con:
        con.execute("DELETE FROM hours WHERE hour = (SELECT max(hour) FROM hours)")
        con.execute("UPDATE generator SET next_hour = next_hour - INTERVAL 1 HOUR")


def test_tick_rewrites_its_own_hour_after_a_crash(runner, warehouse_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    assert invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out, "--hours", "2").exit_code == 0
    before = (out / "telemetry_2020-01-01_01.csv").read_bytes()
    _rewind_clock_one_hour(warehouse_dir)
    again = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out)
    assert again.exit_code == 0, again.output
    assert (out / "telemetry_2020-01-01_01.csv").read_bytes() == before
    assert _clock(warehouse_dir) == datetime(2020, 1, 1, 2)


@pytest.mark.parametrize("hour_in_the_way", [0, 2, 5])
def test_tick_never_overwrites_a_csv_it_did_not_write(
    runner, warehouse_dir: Path, tmp_path: Path, hour_in_the_way: int
) -> None:
    out = tmp_path / "csv"
    # Another warehouse's hour: same name, other bytes (hour 0 is the clock's, hour 2 a later one this tick
    # would write, hour 5 a later one beyond it: no later hour may exist at all).
    other = tmp_path / "other"
    assert invoke(runner, "init", "--warehouse", other, "--devices", "500", "--seed", "8").exit_code == 0
    assert invoke(runner, "tick", "--warehouse", other, "--out", out, "--hours", "6").exit_code == 0
    keep = f"telemetry_2020-01-01_{hour_in_the_way:02d}.csv"
    for path in out.iterdir():
        if path.name != keep:
            path.unlink()
    foreign = (out / keep).read_bytes()
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out, "--hours", "3")
    assert result.exit_code == ExitCode.USAGE, result.output
    assert f"{out / keep} already exists and was not written by this warehouse" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (out / keep).read_bytes() == foreign
    assert sorted(p.name for p in out.iterdir()) == [keep], "nothing written, no temporary file left"
    assert _clock(warehouse_dir) == datetime(2020, 1, 1)


def test_a_folder_in_the_way_of_an_hour_is_a_usage_error(runner, warehouse_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    (out / "telemetry_2020-01-01_00.csv").mkdir(parents=True)
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "already exists and was not written by this warehouse" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["telemetry_2020-01-01_00.csv"]
    assert _clock(warehouse_dir) == datetime(2020, 1, 1)


def test_status_reports_what_tick_wrote(runner, warehouse_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    assert invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out, "--hours", "2").exit_code == 0
    files = sorted(out.glob("*.csv"))
    status = invoke(runner, "status", "--warehouse", warehouse_dir).stdout.splitlines()
    assert "csv_rows_written: 1000" in status
    assert f"csv_bytes_written: {sum(p.stat().st_size for p in files)}" in status
    assert f"last_csv: {files[-1]}" in status


def test_tick_sweeps_hour_temporaries_whatever_their_writer_and_leaves_other_files(
    runner, warehouse_dir: Path, tmp_path: Path
) -> None:
    # A Dask worker orphaned by a killed tick may still run when the next tick starts, and a worker on another
    # host has a pid that means nothing here: under the tick lock, no other process may write this warehouse's
    # hours, so every hidden temporary of an hour file is litter, whether or not its pid runs.
    out = tmp_path / "csv"
    out.mkdir()
    with subprocess.Popen(["sleep", "60"]) as alive:
        try:
            orphans = [
                out / f".telemetry_2020-01-01_{hour:02d}.csv.{pid}.tmp" for hour, pid in ((0, alive.pid), (5, 1))
            ]
            not_ours = [out / f".notes.txt.{alive.pid}.tmp", out / "notes.txt"]
            for path in orphans + not_ours:
                path.write_text("partial")
            result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", out, "--hours", "2")
        finally:
            alive.kill()
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["telemetry_2020-01-01_00.csv", "telemetry_2020-01-01_01.csv", *(p.name for p in not_ours)]
    )
