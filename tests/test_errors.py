"""Every failure is one clear line with its documented exit code: a read-only filesystem, Ctrl-C, a damaged
devices file. Real filesystems (a tmpfs remounted read-only) and real signals to real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from duckwifi.errors import ExitCode
from tests.conftest import invoke, popen_cli, run_cli


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("duckwifi: error: "), stderr
    return lines[0]


# --- A read-only filesystem ---------------------------------------------------------------------------


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[Path]:
    """A real tmpfs, filled by the test, then remounted read-only. Needs root (as the full-disk tests do)."""
    mount_point = tmp_path / "ro"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount_point)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _make_read_only(mount_point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)


@pytest.fixture
def read_only_warehouse(runner, read_only_mount: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A warehouse with a fleet and one converted hour, on a filesystem now mounted read-only; and its CSVs."""
    wh, csv = read_only_mount / "wh", tmp_path / "csv"
    assert invoke(runner, "init", "--warehouse", wh, "--devices", "300").exit_code == 0
    assert invoke(runner, "tick", "--warehouse", wh, "--out", csv, "--hours", "2").exit_code == 0
    (csv / "telemetry_2020-01-01_01.csv").rename(tmp_path / "later.csv")
    assert invoke(runner, "convert", csv, tmp_path / "lake", "--warehouse", wh).exit_code == 0
    (tmp_path / "later.csv").rename(csv / "telemetry_2020-01-01_01.csv")
    _make_read_only(read_only_mount)
    return wh, csv


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.faults
@pytest.mark.parametrize(
    "command",
    [
        ["tick", "--out", "{tmp}/csv2"],
        ["convert", "{csv}", "{tmp}/lake"],
        ["init", "--force", "--devices", "200"],
    ],
    ids=["tick", "convert", "init --force"],
)
def test_a_read_only_warehouse_is_one_line_and_exit_15(
    read_only_warehouse: tuple[Path, Path], tmp_path: Path, command: list[str]
) -> None:
    wh, csv = read_only_warehouse
    before = _snapshot(wh)
    args = [part.format(tmp=tmp_path, csv=csv) for part in command]
    result = run_cli(*args, "--warehouse", wh)
    assert result.returncode == ExitCode.READ_ONLY, result.stderr
    line = _one_error_line(result.stderr)
    assert "read-only file system" in line
    assert str(wh) in line
    assert _snapshot(wh) == before
    # Reading still works: status opens the warehouse read-only.
    status = run_cli("status", "--warehouse", wh)
    assert status.returncode == 0, status.stderr
    assert "hours_generated: 2" in status.stdout


@pytest.mark.faults
def test_a_read_only_out_folder_or_lake_is_exit_15(runner, read_only_mount: Path, tmp_path: Path) -> None:
    wh, csv = tmp_path / "wh", tmp_path / "csv"
    assert invoke(runner, "init", "--warehouse", wh, "--devices", "300").exit_code == 0
    assert invoke(runner, "tick", "--warehouse", wh, "--out", csv).exit_code == 0
    (read_only_mount / "out").mkdir()
    (read_only_mount / "lake").mkdir()
    _make_read_only(read_only_mount)
    for args, folder in (
        (["tick", "--out", read_only_mount / "out"], read_only_mount / "out"),
        (["tick", "--out", read_only_mount / "new"], read_only_mount / "new"),
        (["convert", csv, read_only_mount / "lake"], read_only_mount / "lake"),
    ):
        result = run_cli(*args, "--warehouse", wh)
        assert result.returncode == ExitCode.READ_ONLY, (args, result.stderr)
        line = _one_error_line(result.stderr)
        assert f"read-only file system: cannot write {folder}" in line
    status = run_cli("status", "--warehouse", wh).stdout
    assert "hours_generated: 1" in status
    assert "converted_files: 0" in status


# --- Ctrl-C ----------------------------------------------------------------------------------------------

DEVICES = 100_000


def _interrupt(proc: subprocess.Popen, signum: int = signal.SIGINT) -> tuple[str, str]:
    proc.send_signal(signum)
    return proc.communicate(timeout=60)


def _clock_and_hours(wh: Path) -> tuple[int, int]:
    with duckdb.connect(str(wh / "state.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT datediff('hour', start_hour, next_hour), (SELECT count(*) FROM hours) FROM generator"
        ).fetchone()


@pytest.mark.faults
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_during_tick_is_interrupted_130_and_leaves_no_temporary_file(tmp_path: Path, signum: int) -> None:
    wh, out = tmp_path / "wh", tmp_path / "csv"
    assert run_cli("init", "--warehouse", wh, "--devices", DEVICES).returncode == 0
    proc = popen_cli("tick", "--warehouse", wh, "--out", out, "--hours", "50")
    assert proc.stdout is not None
    proc.stdout.readline()  # the first hour is out: the next one is being written
    time.sleep(0.05)
    _stdout, stderr = _interrupt(proc, signum)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    assert _one_error_line(stderr) == "duckwifi: error: interrupted"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "a temporary file was left behind"
    written = sorted(out.glob("*.csv"))
    assert 1 <= len(written) < 50
    for path in written:
        assert path.read_bytes().count(b"\n") == DEVICES + 1, f"{path.name} is partial"
    # The clock stands exactly after the last complete file (or on it, if the signal came between the rename
    # and the clock: the next tick rewrites that hour, byte for byte).
    clock, recorded = _clock_and_hours(wh)
    assert clock == recorded
    assert clock in (len(written), len(written) - 1)
    again = run_cli("tick", "--warehouse", wh, "--out", out)
    assert again.returncode == 0, again.stderr
    assert _clock_and_hours(wh)[0] == clock + 1


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_ctrl_c_while_waiting_for_a_busy_warehouse_says_interrupted(tmp_path: Path) -> None:
    # Waiting is Python code (not a DuckDB query): the KeyboardInterrupt surfaces as itself, which Typer alone
    # would turn into a silent exit 130.
    wh = tmp_path / "wh"
    assert run_cli("init", "--warehouse", wh, "--devices", "200").returncode == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print(1, flush=True); time.sleep(120)",
            str(wh / "state.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline()
        proc = popen_cli("status", "--warehouse", wh, env={"DUCKWIFI_OPEN_TIMEOUT": "60"})
        time.sleep(3)
        assert proc.poll() is None, proc.communicate()
        _stdout, stderr = _interrupt(proc)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    assert _one_error_line(stderr) == "duckwifi: error: interrupted"


@pytest.mark.faults
def test_ctrl_c_during_convert_is_interrupted_130_and_the_ledger_matches_the_lake(tmp_path: Path) -> None:
    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", DEVICES).returncode == 0
    assert run_cli("tick", "--warehouse", wh, "--out", src, "--hours", "6").returncode == 0
    proc = popen_cli("convert", src, lake, "--warehouse", wh)
    staging = lake / "_staging"
    # Staging holds a source's folder while DuckDB converts it: interrupt in the middle of that.
    _wait_for(lambda: staging.is_dir() and any(staging.iterdir()))
    time.sleep(0.1)
    _stdout, stderr = _interrupt(proc)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    assert _one_error_line(stderr) == "duckwifi: error: interrupted"
    assert not list(lake.rglob("*.partial")), "a staged file was left behind"
    assert not staging.exists() or not any(staging.iterdir())
    with duckdb.connect(str(wh / "state.duckdb"), read_only=True) as con:
        recorded = con.execute("SELECT count(*), coalesce(sum(row_count), 0) FROM conversions").fetchone()
        rejected = con.execute("SELECT count(*) FROM rejections").fetchone()
    assert rejected == (0,), "an interrupted file must not be recorded as rejected"
    files = list(lake.rglob("*.parquet"))
    if files:
        with duckdb.connect() as con:
            rows = con.execute("SELECT count(*) FROM read_parquet($g)", {"g": str(lake / "**" / "*.parquet")})
            assert rows.fetchone()[0] == recorded[1]
    assert recorded[0] < 6
    again = run_cli("convert", src, lake, "--warehouse", wh)
    assert again.returncode == 0, again.stderr
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT (site, datetime)) FROM telemetry").fetchone() == (
            6 * DEVICES,
            6 * DEVICES,
        )


@pytest.mark.faults
def test_ctrl_c_after_some_files_landed_has_reported_each_of_them(tmp_path: Path) -> None:
    """Each converted file's line is printed as it lands, so a script reading stdout learns of every file an
    interrupted run published; the one caught mid-publish (if any) is finished by the next run."""
    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", 20_000).returncode == 0
    assert run_cli("tick", "--warehouse", wh, "--out", src, "--hours", "8").returncode == 0
    proc = popen_cli("convert", src, lake, "--warehouse", wh)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.count("\t") == 1, first
    stdout, stderr = _interrupt(proc)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    reported = {line.split("\t")[0] for line in (first + stdout).splitlines()}
    with duckdb.connect(str(wh / "state.duckdb"), read_only=True) as con:
        recorded = {source for (source,) in con.execute("SELECT source FROM conversions").fetchall()}
    published_hours = {p.parent.name for p in lake.glob("date=*/hour=*/")}
    assert reported <= recorded
    assert len(published_hours) - len(reported) in (0, 1), (published_hours, reported)
    again = run_cli("convert", src, lake, "--warehouse", wh)
    assert again.returncode == 0, again.stderr
    assert not reported & {line.split("\t")[0] for line in again.stdout.splitlines()}
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM telemetry").fetchone() == (8 * 20_000,)


# --- A damaged devices file ------------------------------------------------------------------------------


def test_a_devices_file_damaged_in_place_is_refused_as_damaged(runner, warehouse_dir: Path, tmp_path: Path) -> None:
    parquet = warehouse_dir / "devices.parquet"
    data = bytearray(parquet.read_bytes())
    # Same size (so the size check passes), garbage in the middle: only reading it can tell.
    middle = len(data) // 2
    data[middle - 2000 : middle + 2000] = bytes(4000)
    parquet.write_bytes(bytes(data))
    result = invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", tmp_path / "o")
    assert result.exit_code == ExitCode.CORRUPT, result.output
    assert f"cannot read devices file {parquet}" in result.stderr
    assert not list((tmp_path / "o").iterdir())


# --- A lake folder that is not the lake's own --------------------------------------------------------------


def _csv_folder(runner, warehouse_dir: Path, tmp_path: Path) -> Path:
    src = tmp_path / "csv"
    assert invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", src).exit_code == 0
    return src


def test_a_lake_that_holds_the_warehouse_is_refused(runner, warehouse_dir: Path, tmp_path: Path) -> None:
    src = _csv_folder(runner, warehouse_dir, tmp_path)
    result = invoke(runner, "convert", src, tmp_path, "--warehouse", warehouse_dir)
    assert result.exit_code == ExitCode.USAGE, result.output
    line = _one_error_line(result.stderr)
    assert f"the warehouse {warehouse_dir} is inside the lake folder {tmp_path}" in line
    assert not list(tmp_path.glob("date=*"))


@pytest.mark.parametrize("where", ["x.parquet", "other/deep/x.parquet"])
def test_a_lake_with_other_parquet_files_is_refused(runner, warehouse_dir: Path, tmp_path: Path, where: str) -> None:
    src = _csv_folder(runner, warehouse_dir, tmp_path)
    lake = tmp_path / "lake"
    foreign = lake / where
    foreign.parent.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute("COPY (SELECT 1 AS x) TO $p (FORMAT parquet)", {"p": str(foreign)})
    result = invoke(runner, "convert", src, lake, "--warehouse", warehouse_dir)
    assert result.exit_code == ExitCode.USAGE, result.output
    line = _one_error_line(result.stderr)
    assert f"holds Parquet files that are not the lake's, such as {foreign}" in line
    assert not list(lake.glob("date=*"))
    foreign.unlink()
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse_dir).exit_code == 0


# --- The end of time -----------------------------------------------------------------------------------


def test_the_clock_never_passes_the_last_hour_the_date_folders_can_tell_apart(runner, tmp_path: Path) -> None:
    wh, out = tmp_path / "wh", tmp_path / "csv"
    assert invoke(runner, "init", "--warehouse", wh, "--devices", "20", "--start", "2068-12-31 21:00").exit_code == 0
    too_many = invoke(runner, "tick", "--warehouse", wh, "--out", out, "--hours", "4")
    assert too_many.exit_code == ExitCode.USAGE
    assert "3 more hour(s) can be written" in _one_error_line(too_many.stderr)
    assert not out.exists() or not list(out.iterdir()), "nothing is written when the hours cannot all be"
    # 2068-12-31 23:00, the last hour, is written too.
    assert invoke(runner, "tick", "--warehouse", wh, "--out", out, "--hours", "3").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [f"telemetry_2068-12-31_{h}.csv" for h in (21, 22, 23)]
    for _ in range(2):
        again = invoke(runner, "tick", "--warehouse", wh, "--out", out)
        assert again.exit_code == ExitCode.USAGE
        assert "the clock is at 2069-01-01 00:00:00, so 0 more hour(s)" in _one_error_line(again.stderr)
        status = invoke(runner, "status", "--warehouse", wh)
        assert status.exit_code == 0
        assert "clock: 2069-01-01 00:00:00" in status.stdout
        assert "hours_generated: 3" in status.stdout


# --- Control characters from input files ------------------------------------------------------------------


def test_a_control_character_from_a_file_is_never_echoed_raw(runner, warehouse_dir: Path, tmp_path: Path) -> None:
    src = _csv_folder(runner, warehouse_dir, tmp_path)
    path = next(src.glob("*.csv"))
    header, first, *rest = path.read_text().splitlines()
    fields = first.split(",")
    # A quoted state holding a newline, a forged status line and a terminal escape.
    fields[2] = '"CA\nconverted_rows: 999\x1b[2K"'
    path.write_text("\n".join([header, ",".join(fields), *rest]) + "\n")
    result = invoke(runner, "convert", src, tmp_path / "lake", "--warehouse", warehouse_dir)
    assert result.exit_code == ExitCode.REJECTED, result.output
    rejection = [line for line in result.stderr.splitlines() if "rejected " in line]
    assert len(rejection) == 1
    assert "state CA\\nconverted_rows: 999\\x1b[2K with region" in rejection[0]
    status = invoke(runner, "status", "--warehouse", warehouse_dir).stdout
    assert "\x1b" not in status
    assert [line for line in status.splitlines() if line.startswith("converted_rows")] == ["converted_rows: 0"]
    assert "state CA\\nconverted_rows: 999\\x1b[2K with region" in status


@pytest.mark.faults
def test_ctrl_c_during_init_leaves_no_temporary_file_and_no_fleet(tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    proc = popen_cli("init", "--warehouse", wh, "--devices", "3000000")
    _wait_for(lambda: (wh / "tmp").is_dir())  # the sampling has started
    time.sleep(0.5)
    _stdout, stderr = _interrupt(proc)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    assert _one_error_line(stderr) == "duckwifi: error: interrupted"
    assert not [p.name for p in wh.iterdir() if p.name.startswith(".")], "a temporary file was left behind"
    status = run_cli("status", "--warehouse", wh)
    assert status.returncode == ExitCode.NOT_INITIALIZED or "devices: 0" in status.stdout, status


# --- Classification by errno ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("COPY (SELECT range FROM range(1000000)) TO '/dev/full' (FORMAT csv)", "DiskFull"),
        ("COPY (SELECT 1) TO '/proc/duckwifi.csv'", "DuckwifiError"),
    ],
)
def test_duckdb_io_errors_are_classified_by_their_errno(sql: str, expected: str) -> None:
    from duckwifi.errors import os_errno, translate

    with duckdb.connect() as con, pytest.raises(duckdb.Error) as raised:
        con.execute(sql)
    assert type(translate(raised.value, target="x")).__name__ == expected
    assert (os_errno(raised.value) == 28) == (expected == "DiskFull")


def test_a_csv_value_that_reads_like_an_os_error_is_not_one(tmp_path: Path) -> None:
    from duckwifi.errors import is_disk_full, translate

    path = tmp_path / "x.csv"
    path.write_text("n\nNo space left on device\n")
    with duckdb.connect() as con, pytest.raises(duckdb.Error) as raised:
        con.execute("SELECT * FROM read_csv($p, columns = {'n': 'INTEGER'}, header = true)", {"p": str(path)})
    assert "No space left on device" in str(raised.value)
    assert not is_disk_full(raised.value)
    assert type(translate(raised.value, target="x")).__name__ == "DuckwifiError"


@pytest.mark.parametrize("start", ["1968-12-31 23:00", "2069-01-01 00:00", "9999-12-31 22:00"])
def test_a_start_outside_the_century_the_date_folders_tell_apart_is_refused(runner, tmp_path: Path, start) -> None:
    result = invoke(runner, "init", "--warehouse", tmp_path / "wh", "--devices", "20", "--start", start)
    assert result.exit_code == ExitCode.USAGE
    assert "1969-01-01" in _one_error_line(result.stderr)


def test_a_clock_an_older_duckwifi_left_past_year_9999_never_crashes(runner, tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    assert invoke(runner, "init", "--warehouse", wh, "--devices", "20", "--start", "2068-12-31 23:00").exit_code == 0
    with duckdb.connect(str(wh / "state.duckdb")) as con:
        con.execute("UPDATE generator SET next_hour = TIMESTAMP '10000-01-01 00:00:00'")
    status = invoke(runner, "status", "--warehouse", wh)
    assert status.exit_code == 0
    assert "clock: 10000-01-01 00:00:00" in status.stdout
    tick = invoke(runner, "tick", "--warehouse", wh, "--out", tmp_path / "csv")
    assert tick.exit_code == ExitCode.USAGE
    assert "no more hours can be written" in _one_error_line(tick.stderr)


def test_stdout_closed_early_is_one_line_and_exit_141(runner, tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    assert invoke(runner, "init", "--warehouse", wh, "--devices", "20").exit_code == 0
    command = f"{sys.executable} -m duckwifi sql -w {wh} 'SELECT * FROM range(3000000)' | head -1"
    result = subprocess.run(
        ["bash", "-c", command + "; echo ${PIPESTATUS[0]} >&2"], capture_output=True, text=True, check=False
    )
    assert result.stdout == "range\n"
    message, code = result.stderr.strip().splitlines()
    assert code == str(ExitCode.OUTPUT_CLOSED)
    assert message == "duckwifi: error: stdout was closed before everything was written"


def test_convert_into_a_closed_pipe_converts_everything_then_exits_141(runner, tmp_path: Path) -> None:
    """`convert | head -1`: the reader leaves after the first line, and convert still converts and records every
    file (a line it cannot print must not stop a publish half-way), then says so with exit 141."""
    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert invoke(runner, "init", "--warehouse", wh, "--devices", "2000").exit_code == 0
    assert invoke(runner, "tick", "--warehouse", wh, "--out", src, "--hours", "4").exit_code == 0
    command = f"{sys.executable} -m duckwifi convert -w {wh} {src} {lake} | head -1"
    result = subprocess.run(
        ["bash", "-c", command + "; echo ${PIPESTATUS[0]} >&2"], capture_output=True, text=True, check=False
    )
    assert result.stdout.startswith(str((src / "telemetry_2020-01-01_00.csv").resolve()))
    *_, summary, message, code = result.stderr.strip().splitlines()
    assert code == str(ExitCode.OUTPUT_CLOSED)
    assert message == "duckwifi: error: stdout was closed before everything was written"
    assert summary.startswith("converted 4 file(s), 8,000 rows")
    status = invoke(runner, "status", "--warehouse", wh).stdout
    assert "converted_rows: 8000" in status, status
    again = invoke(runner, "convert", "--warehouse", wh, src, lake)
    assert again.exit_code == 0
    assert "converted 0 file(s), 0 rows; 4 already converted; 0 rejected; 0 changed\n" in again.stderr


def test_a_signal_while_duckwifi_starts_is_interrupted_not_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "duckwifi", "status", "-w", tmp_path / "nowhere"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # DuckDB's library is loaded only by the command line's imports, which start after duckwifi.entry has
    # installed its handlers: signal as soon as it appears, in the middle of the heavy imports.
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline and "duckdb" not in maps.read_text():
        time.sleep(0.001)
    proc.send_signal(signal.SIGTERM)
    _stdout, stderr = proc.communicate(timeout=60)
    # The signal came during the imports (interrupted), or just after status answered (no warehouse).
    assert proc.returncode in (ExitCode.INTERRUPTED, ExitCode.NOT_INITIALIZED), stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


# --- Paths that are not plain text to DuckDB or to the terminal ----------------------------------------------


@pytest.mark.parametrize("name", ["w?q", "wb[x]", "a*b"])
def test_a_warehouse_path_duckdb_would_read_as_a_pattern_is_refused_before_any_work(tmp_path, name):
    warehouse = tmp_path / name
    for command in (["init", "--devices", "10"], ["status"], ["check"], ["rollup", "--rebuild"]):
        result = run_cli(*command, "--warehouse", warehouse)
        assert result.returncode == ExitCode.USAGE, (command, result.stderr)
        assert "which DuckDB reads as a file pattern" in _one_error_line(result.stderr)
    assert not list(tmp_path.iterdir())


def test_paths_with_brackets_are_printed_as_they_are(tmp_path):
    """The terminal's console reads no markup: a folder named like a Rich tag is printed, not obeyed."""
    warehouse = tmp_path / "wh"
    csv = tmp_path / "csv[/b]"
    assert run_cli("init", "--warehouse", warehouse, "--devices", "20").returncode == 0
    assert run_cli("tick", "--warehouse", warehouse, "--out", csv).returncode == 0
    assert run_cli("convert", "--warehouse", warehouse, csv, tmp_path / "lake").returncode == 0
    source = next(csv.glob("*.csv"))
    forgot = run_cli("forget", "--warehouse", warehouse, source)
    assert forgot.returncode == 0, forgot.stderr
    assert "Traceback" not in forgot.stderr
    assert f"forgot {source}:" in forgot.stderr


def test_forget_prints_a_path_with_a_newline_as_one_escaped_line(tmp_path):
    warehouse, csv = tmp_path / "wh", tmp_path / "new\nline"
    assert run_cli("init", "--warehouse", warehouse, "--devices", "20").returncode == 0
    assert run_cli("tick", "--warehouse", warehouse, "--out", csv).returncode == 0
    converted = run_cli("convert", "--warehouse", warehouse, csv, tmp_path / "lake")
    assert converted.returncode == 0, converted.stderr
    forgot = run_cli("forget", "--warehouse", warehouse, next(csv.glob("*.csv")))
    assert forgot.returncode == 0, forgot.stderr
    assert len(forgot.stdout.splitlines()) == 1
    # The same escaped form convert printed for it.
    assert forgot.stdout.rstrip("\n") == converted.stdout.split("\t")[0]
    assert len(forgot.stderr.splitlines()) == 1
