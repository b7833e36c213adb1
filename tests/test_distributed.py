"""`tick` and `convert` staged on Dask workers (issue 14): the same files, ledger and guarantees as a local run.

Real parts throughout: local Dask clusters started by the CLI, and a real scheduler and workers started with
Dask's own command line for the remote cases; kills are real SIGKILLs to real processes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psutil
import pytest

from duckwifi.errors import ExitCode
from duckwifi.rollups import store as rollup_store
from duckwifi.warehouse import Warehouse
from tests.conftest import popen_cli, run_cli

DEVICES = 30_000
HOURS = 6
DASK = str(Path(sys.executable).with_name("dask"))
NOBODY = "65534"  # the uid of user nobody


# ----------------------------------------------------------------------------------------------- helpers


def _lake_contents(lake: Path) -> dict[str, list[tuple]]:
    """Every lake file by its lake-relative name, with its rows in a fixed order."""
    contents = {}
    with duckdb.connect() as con:
        for path in sorted(lake.rglob("*.parquet")):
            rows = con.execute("SELECT * FROM read_parquet($p) ORDER BY ALL", {"p": str(path)}).fetchall()
            contents[str(path.relative_to(lake))] = rows
    return contents


def _ledger(wh: Path) -> list[tuple]:
    with duckdb.connect(str(wh / "state.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT source, byte_count, mtime_ns, sha256, row_count, outputs, retired, status "
            "FROM conversions ORDER BY source"
        ).fetchall()


def _rejections(wh: Path) -> list[tuple]:
    with duckdb.connect(str(wh / "state.duckdb"), read_only=True) as con:
        return con.execute("SELECT source, line, reason FROM rejections ORDER BY source").fetchall()


def _rollups(wh: Path) -> dict[str, dict[str, list[tuple]]]:
    """Every published rollup unit's rows, by source and table; and no unit folder the manifest does not list
    (a unit a killed worker left, or one of a source not published, must not stay behind)."""
    manifest = rollup_store.read_manifest(Warehouse(wh))
    units_dir = wh / "rollups" / rollup_store.UNITS_DIR
    assert {p.name for p in units_dir.iterdir()} == {u.unit for u in manifest.units}
    contents: dict[str, dict[str, list[tuple]]] = {}
    with duckdb.connect() as con:
        for unit in manifest.units:
            contents[unit.source] = {
                table: con.execute(
                    "SELECT * FROM read_parquet($p) ORDER BY ALL", {"p": str(unit.path(wh / "rollups", table))}
                ).fetchall()
                for table in rollup_store.TABLES
            }
    return contents


def _csv_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _dask_workers(client_pid: int) -> list[psutil.Process]:
    """The worker processes a CLI run's local cluster spawned (its multiprocessing children)."""
    try:
        children = psutil.Process(client_pid).children()
    except psutil.NoSuchProcess:
        return []
    return [p for p in children if "spawn_main" in " ".join(p.cmdline())]


def _wait_for(condition, timeout: float = 60.0, interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not _holds(condition):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def _holds(condition) -> bool:
    try:
        return bool(condition())
    except FileNotFoundError:
        # The run renamed or removed a folder while the condition walked it (a publish, a staging clean-up).
        return False


def _staging_in_progress(lake: Path) -> bool:
    return any((lake / "_staging").rglob("*.partial")) if (lake / "_staging").is_dir() else False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A warehouse of DEVICES devices and HOURS hourly CSVs, made once by a local tick (the reference)."""
    root = tmp_path_factory.mktemp("fleet")
    wh, csv = root / "wh", root / "csv"
    assert run_cli("init", "--warehouse", wh, "--devices", DEVICES, "--seed", 11).returncode == 0
    done = run_cli("tick", "--warehouse", wh, "--out", csv, "--hours", HOURS)
    assert done.returncode == 0, done.stderr
    return wh, csv


@pytest.fixture(scope="module")
def local_conversion(fleet: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The reference: the fleet's CSVs converted by a local run into a warehouse of its own."""
    _, csv = fleet
    root = tmp_path_factory.mktemp("local")
    wh, lake = root / "wh", root / "lake"
    done = run_cli("convert", csv, lake, "--warehouse", wh)
    assert done.returncode == 0, done.stderr
    return wh, lake


def _fresh_warehouse(fleet: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the fleet's warehouse, clock at the start, to tick from."""
    wh = tmp_path / "wh"
    assert run_cli("init", "--warehouse", wh, "--devices", DEVICES, "--seed", 11).returncode == 0
    return wh


def _start_scheduler() -> tuple[str, subprocess.Popen]:
    """A real Dask scheduler on loopback, started with Dask's command line, answering before this returns."""
    port = _free_port()
    proc = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(lambda: _port_open(port), timeout=60, interval=0.1)
    except BaseException:
        _stop(proc)
        raise
    return f"tcp://127.0.0.1:{port}", proc


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[str]:
    address, proc = _start_scheduler()
    try:
        yield address
    finally:
        _stop(proc)


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _start_worker(address: str, space: Path, *, as_user: str | None = None) -> subprocess.Popen:
    """A real `dask worker` (no nanny: killing it is losing it), joined to the scheduler before returning."""
    space.mkdir(mode=0o777, exist_ok=True)
    space.chmod(0o777)
    command = [DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
    command += ["--local-directory", str(space)]
    if as_user is not None:
        command = _as_user(as_user, command)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUCKWIFI_")}
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env
    )
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(1, timeout=120)
    return proc


def _as_user(user: str, command: list[str]) -> list[str]:
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]


def _runs_as(user: str, command: list[str]) -> bool:
    """Whether ``command`` runs to a clean exit as ``user``."""
    done = subprocess.run(_as_user(user, command), capture_output=True, timeout=120, check=False)
    return done.returncode == 0


def _stop(proc: subprocess.Popen) -> None:
    """SIGKILL a process started in its own session, and its children; one already gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _published(lake: Path) -> set[str]:
    """The lake's published files, lake-relative (staging, changing meanwhile, is not walked)."""
    folders = [folder for folder in lake.iterdir() if folder.name != "_staging"]
    return {str(p.relative_to(lake)) for folder in folders for p in folder.rglob("*.parquet")}


# ----------------------------------------------------------------------------------------------- usage


def test_workers_and_a_scheduler_together_are_a_usage_error(tmp_path: Path) -> None:
    both = run_cli("convert", tmp_path, tmp_path / "lake", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1")
    assert both.returncode == ExitCode.USAGE
    from_env = run_cli(
        "tick", "--out", tmp_path / "csv", "--workers", "2", env={"DUCKWIFI_SCHEDULER": "tcp://127.0.0.1:1"}
    )
    assert from_env.returncode == ExitCode.USAGE
    assert "not both" in from_env.stderr
    assert not (tmp_path / "lake").exists()


def test_a_malformed_scheduler_address_names_both_places_it_can_come_from(tmp_path: Path) -> None:
    done = run_cli("tick", "--out", tmp_path / "csv", env={"DUCKWIFI_SCHEDULER": "nonsense://x"})
    assert done.returncode == ExitCode.USAGE
    assert done.stderr.count("\n") == 1
    assert "'nonsense://x'" in done.stderr
    assert "--scheduler or DUCKWIFI_SCHEDULER" in done.stderr


def test_without_the_extra_workers_names_what_to_install(tmp_path: Path) -> None:
    # Dask is not the project's: hiding it from the import system is how "not installed" looks.
    code = (
        "import sys; sys.modules['distributed'] = None; sys.argv = ['duckwifi'] + sys.argv[1:]; "
        "from duckwifi.cli import main; main()"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "tick",
            "--out",
            str(tmp_path / "csv"),
            "-w",
            str(tmp_path / "wh"),
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == ExitCode.EXTRA_MISSING
    assert "pip install 'duckwifi[distributed]'" in done.stderr
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "wh" / "state.duckdb").exists()


def test_the_hourly_commands_do_not_import_dask() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "duckwifi", "tick", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = [line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line]
    assert "duckwifi.cli" in imported
    assert not [name for name in imported if name.split(".")[0] in {"dask", "distributed"}]


def test_an_unreachable_scheduler_is_exit_19_and_nothing_is_written(fleet, tmp_path: Path) -> None:
    _, csv = fleet
    lake = tmp_path / "lake"
    done = run_cli(
        "convert", csv, lake, "--warehouse", tmp_path / "wh", "--scheduler", f"tcp://127.0.0.1:{_free_port()}"
    )
    assert done.returncode == ExitCode.SCHEDULER_UNREACHABLE, done.stderr
    assert "cannot reach the Dask scheduler" in done.stderr
    assert not lake.exists()


# ----------------------------------------------------------------------------------------------- tick


def test_tick_on_two_workers_writes_byte_identical_csvs(fleet, tmp_path: Path) -> None:
    _, reference_csv = fleet
    wh = _fresh_warehouse(fleet, tmp_path)
    done = run_cli("tick", "--warehouse", wh, "--out", tmp_path / "csv", "--hours", HOURS, "--workers", 2)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(tmp_path / "csv" / name) for name in _csv_bytes(reference_csv)]
    assert _csv_bytes(tmp_path / "csv") == _csv_bytes(reference_csv)
    status = run_cli("status", "--warehouse", wh).stdout
    assert f"hours_generated: {HOURS}" in status


def test_tick_of_the_uniform_profile_on_workers_writes_byte_identical_csvs(tmp_path: Path) -> None:
    # The fleet above has the default (realistic) profile; the uniform one prepares its workers differently.
    outputs = {}
    for name, extra in (("local", []), ("dask", ["--workers", 2])):
        wh = tmp_path / f"wh-{name}"
        init = run_cli("init", "--warehouse", wh, "--devices", 2_000, "--seed", 3, "--profile", "uniform")
        assert init.returncode == 0, init.stderr
        done = run_cli("tick", "--warehouse", wh, "--out", tmp_path / name, "--hours", 3, *extra)
        assert done.returncode == 0, done.stderr
        outputs[name] = _csv_bytes(tmp_path / name)
    assert len(outputs["dask"]) == 3
    assert outputs["dask"] == outputs["local"]


@pytest.mark.faults
@pytest.mark.slow
def test_tick_client_killed_mid_run_then_a_local_rerun_is_exact(fleet, tmp_path: Path) -> None:
    _, reference_csv = fleet
    wh, out = _fresh_warehouse(fleet, tmp_path), tmp_path / "csv"
    proc = popen_cli("tick", "--warehouse", wh, "--out", out, "--hours", HOURS, "--workers", 2)
    _wait_for(lambda: out.is_dir() and any(p.suffix == ".csv" for p in out.iterdir()))
    proc.kill()
    proc.communicate()
    generated = next(
        int(line.split(": ")[1])
        for line in run_cli("status", "--warehouse", wh).stdout.splitlines()
        if line.startswith("hours_generated")
    )
    # 0 when the kill fell between the first rename and its clock: that hour is then written again.
    assert 0 <= generated < HOURS
    rerun = run_cli("tick", "--warehouse", wh, "--out", out, "--hours", HOURS - generated)
    assert rerun.returncode == 0, rerun.stderr
    assert _csv_bytes(out) == _csv_bytes(reference_csv)


@pytest.mark.faults
def test_tick_on_workers_stopped_by_ctrl_c_is_exit_130_and_leaves_no_temporary_file(fleet, tmp_path: Path) -> None:
    wh, out = _fresh_warehouse(fleet, tmp_path), tmp_path / "csv"
    proc = popen_cli("tick", "--warehouse", wh, "--out", out, "--hours", HOURS, "--workers", 2)
    _wait_for(lambda: out.is_dir() and any(p.name.endswith(".tmp") for p in out.iterdir()))
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


@pytest.mark.faults
@pytest.mark.slow
def test_tick_worker_killed_mid_task_ends_identical(fleet, tmp_path: Path) -> None:
    _, reference_csv = fleet
    wh, out = _fresh_warehouse(fleet, tmp_path), tmp_path / "csv"
    proc = popen_cli("tick", "--warehouse", wh, "--out", out, "--hours", HOURS, "--workers", 2)
    _wait_for(lambda: out.is_dir() and any(p.name.endswith(".tmp") for p in out.iterdir()))
    (victim, *_) = _dask_workers(proc.pid)
    victim.send_signal(signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert _csv_bytes(out) == _csv_bytes(reference_csv)


# ----------------------------------------------------------------------------------------------- convert


def test_convert_on_two_workers_matches_a_local_run(fleet, local_conversion, tmp_path: Path) -> None:
    _, csv = fleet
    local_wh, local_lake = local_conversion
    wh, lake = tmp_path / "wh", tmp_path / "lake"
    done = run_cli("convert", csv, lake, "--warehouse", wh, "--workers", 2)
    assert done.returncode == 0, done.stderr
    # One line per converted source, its path first (then a tab and what it wrote), printed as each lands, so
    # in the order the workers finished.
    assert sorted(line.split("\t")[0] for line in done.stdout.splitlines()) == [
        str(p) for p in sorted(csv.glob("*.csv"))
    ]
    assert _lake_contents(lake) == _lake_contents(local_lake)
    assert _ledger(wh) == _ledger(local_wh)
    assert _rollups(wh) == _rollups(local_wh)
    assert not any((lake / "_staging").iterdir())
    again = run_cli("convert", csv, lake, "--warehouse", wh, "--workers", 1)
    assert again.returncode == 0
    assert f"{HOURS} already converted" in again.stderr


@pytest.mark.faults
def test_ctrl_c_at_a_terminal_reaches_the_workers_too_and_is_still_one_line(fleet, tmp_path: Path) -> None:
    """A terminal's Ctrl-C signals the whole process group, the local cluster's workers included: they must
    not print tracebacks of their own."""
    wh, out = _fresh_warehouse(fleet, tmp_path), tmp_path / "csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUCKWIFI_")}
    command = [sys.executable, "-m", "duckwifi", "tick", "--warehouse", str(wh), "--out", str(out)]
    proc = subprocess.Popen(
        [*command, "--hours", str(HOURS), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    _wait_for(lambda: out.is_dir() and any(p.name.endswith(".tmp") for p in out.iterdir()))
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    assert stderr == "duckwifi: error: interrupted\n"


@pytest.mark.faults
def test_convert_on_workers_stopped_by_ctrl_c_is_exit_130_and_leaves_nothing_unlisted(
    fleet, local_conversion, tmp_path: Path
) -> None:
    _, csv = fleet
    local_wh, local_lake = local_conversion
    wh, lake = tmp_path / "wh", tmp_path / "lake"
    proc = popen_cli("convert", csv, lake, "--warehouse", wh, "--workers", 2)
    _wait_for(lambda: _staging_in_progress(lake))
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    staging = lake / "_staging"
    assert not staging.exists() or not any(staging.iterdir())
    _rollups(wh)  # no unit folder the manifest does not list
    done = run_cli("convert", csv, lake, "--warehouse", wh)
    assert done.returncode == 0, done.stderr
    assert _lake_contents(lake) == _lake_contents(local_lake)
    assert _rollups(wh) == _rollups(local_wh)


def test_bad_input_on_a_worker_is_a_rejection_reported_as_locally(fleet, tmp_path: Path) -> None:
    _, csv = fleet
    src = tmp_path / "src"
    src.mkdir()
    first = sorted(csv.glob("*.csv"))[0]
    shutil.copy(first, src / first.name)
    lines = first.read_text().splitlines(keepends=True)
    fields = lines[100].split(",")
    fields[10] = "not-a-number"  # metric_2 of line 101: found by DuckDB on the worker, not by the header check
    lines[100] = ",".join(fields)
    (src / "bad.csv").write_text("".join(lines))

    local = run_cli("convert", src, tmp_path / "lake-local", "--warehouse", tmp_path / "wh-local")
    dask = run_cli("convert", src, tmp_path / "lake", "--warehouse", tmp_path / "wh", "--workers", 2)
    assert local.returncode == dask.returncode == ExitCode.REJECTED
    assert "line 101" in dask.stderr
    assert dask.stderr.splitlines() == local.stderr.replace("lake-local", "lake").replace("wh-local", "wh").splitlines()
    assert _rejections(tmp_path / "wh") == _rejections(tmp_path / "wh-local")
    assert _lake_contents(tmp_path / "lake") == _lake_contents(tmp_path / "lake-local")


def _set_aside(wh: Path) -> list[tuple]:
    with duckdb.connect(str(wh / "state.duckdb"), read_only=True) as con:
        return con.execute("SELECT source, set_aside_rows FROM conversions ORDER BY source").fetchall()


def _rejects_files(wh: Path) -> dict[str, list[tuple]]:
    with duckdb.connect() as con:
        return {
            p.name: con.execute("SELECT * FROM read_csv($f) ORDER BY ALL", {"f": str(p)}).fetchall()
            for p in sorted((wh / "rejects").glob("*.csv"))
        }


def test_max_bad_rows_on_workers_sets_the_same_rows_aside_as_locally(fleet, tmp_path: Path) -> None:
    _, csv = fleet
    src = tmp_path / "src"
    src.mkdir()
    first, second = sorted(csv.glob("*.csv"))[:2]
    shutil.copy(second, src / second.name)  # another hour: a clean file converted beside the bad one
    lines = first.read_text().split("\n")
    lines[6] = "not,a,row"  # line 7
    lines[299] = lines[299].replace(".", "x", 1)  # line 300: a metric DuckDB cannot read as a number
    (src / "bad.csv").write_text("\n".join(lines))

    runs = {}
    for name, extra in (("local", []), ("dask", ["--workers", 2])):
        wh, lake = tmp_path / f"wh-{name}", tmp_path / f"lake-{name}"
        refused = run_cli("convert", src, lake, "--warehouse", wh, "--max-bad-rows", 1, *extra)
        assert refused.returncode == ExitCode.REJECTED, refused.stderr
        assert "2 malformed rows, more than --max-bad-rows 1" in refused.stderr
        assert not (wh / "rejects").is_dir() or not any((wh / "rejects").iterdir())
        done = run_cli("convert", src, lake, "--warehouse", wh, "--max-bad-rows", 2, *extra)
        assert done.returncode == 0, done.stderr
        assert "2 malformed row(s) set aside" in done.stderr
        assert not any((lake / "_staging").iterdir())
        runs[name] = (wh, lake)
    (local_wh, local_lake), (wh, lake) = runs["local"], runs["dask"]
    assert _lake_contents(lake) == _lake_contents(local_lake)
    assert _ledger(wh) == _ledger(local_wh)
    assert _set_aside(wh) == _set_aside(local_wh) == [(str(src / "bad.csv"), 2), (str(src / second.name), 0)]
    rejects = _rejects_files(wh)
    assert rejects == _rejects_files(local_wh)
    assert [row[1] for row in next(iter(rejects.values()))] == [7, 300]


@pytest.mark.faults
@pytest.mark.slow
def test_convert_worker_killed_mid_task_ends_identical(fleet, local_conversion, tmp_path: Path) -> None:
    _, csv = fleet
    local_wh, local_lake = local_conversion
    wh, lake = tmp_path / "wh", tmp_path / "lake"
    proc = popen_cli("convert", csv, lake, "--warehouse", wh, "--workers", 2)
    _wait_for(lambda: _staging_in_progress(lake))
    (victim, *_) = _dask_workers(proc.pid)
    victim.send_signal(signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert _lake_contents(lake) == _lake_contents(local_lake)
    assert _ledger(wh) == _ledger(local_wh)
    assert _rollups(wh) == _rollups(local_wh)
    assert not any((lake / "_staging").iterdir())


@pytest.mark.faults
@pytest.mark.slow
@pytest.mark.parametrize("rerun", ["local", "workers"])
def test_convert_client_killed_mid_run_then_a_rerun_finishes(fleet, local_conversion, tmp_path: Path, rerun) -> None:
    _, csv = fleet
    local_wh, local_lake = local_conversion
    wh, lake = tmp_path / "wh", tmp_path / "lake"
    proc = popen_cli("convert", csv, lake, "--warehouse", wh, "--workers", 2)
    _wait_for(lambda: any(lake.rglob("*.parquet")) if lake.is_dir() else False)
    proc.kill()
    proc.communicate()
    extra = ["--workers", "2"] if rerun == "workers" else []
    done = run_cli("convert", csv, lake, "--warehouse", wh, *extra)
    assert done.returncode == 0, done.stderr
    assert _lake_contents(lake) == _lake_contents(local_lake)
    assert _ledger(wh) == _ledger(local_wh)
    assert _rollups(wh) == _rollups(local_wh)
    assert not list(lake.rglob("*.partial"))


# ----------------------------------------------------------------------------------------------- a real cluster


@pytest.mark.slow
def test_scheduler_flag_wins_over_the_environment(fleet, local_conversion, scheduler, tmp_path: Path) -> None:
    _, csv = fleet
    _, local_lake = local_conversion
    worker = _start_worker(scheduler, tmp_path / "worker")
    try:
        lake = tmp_path / "lake"
        done = run_cli(
            "convert",
            csv,
            lake,
            "--warehouse",
            tmp_path / "wh",
            "--scheduler",
            scheduler,
            env={"DUCKWIFI_SCHEDULER": f"tcp://127.0.0.1:{_free_port()}"},
        )
        assert done.returncode == 0, done.stderr
        assert _lake_contents(lake) == _lake_contents(local_lake)
    finally:
        _stop(worker)


@pytest.mark.faults
@pytest.mark.slow
def test_every_worker_gone_is_exit_20_and_the_next_run_finishes(fleet, local_conversion, scheduler, tmp_path) -> None:
    _, csv = fleet
    local_wh, local_lake = local_conversion
    wh, lake = tmp_path / "wh", tmp_path / "lake"
    worker = _start_worker(scheduler, tmp_path / "worker")
    try:
        proc = popen_cli("convert", csv, lake, "--warehouse", wh, "--scheduler", scheduler)
        _wait_for(lambda: _staging_in_progress(lake))
        _stop(worker)
        _, stderr = proc.communicate(timeout=120)
    finally:
        _stop(worker)
    assert proc.returncode == ExitCode.WORKERS_GONE, stderr
    assert "every worker" in stderr
    assert stderr.count("duckwifi: error:") == 1
    done = run_cli("convert", csv, lake, "--warehouse", wh)
    assert done.returncode == 0, done.stderr
    assert _lake_contents(lake) == _lake_contents(local_lake)
    assert _ledger(wh) == _ledger(local_wh)
    assert _rollups(wh) == _rollups(local_wh)


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="runs a worker as another user, which needs root")
def test_a_worker_that_cannot_see_src_is_exit_21_naming_it_and_nothing_is_written(fleet, scheduler, tmp_path) -> None:
    if not _runs_as(NOBODY, [DASK, "worker", "--help"]):
        # A clone under a folder closed to other users (mktemp -d makes one 0700) hides the virtual environment
        # from nobody, whose worker then never starts.
        pytest.skip(f"user {NOBODY} cannot run {DASK}: the virtual environment is under a folder closed to it")
    _, csv = fleet
    shared = Path(f"/tmp/duckwifi-test-{os.getpid()}-{time.monotonic_ns()}")
    shared.mkdir(mode=0o755)
    try:
        src = shared / "src"
        src.mkdir(mode=0o700)  # root's: the worker running as nobody cannot list it
        shutil.copy(sorted(csv.glob("*.csv"))[0], src)
        lake, wh = shared / "lake", shared / "wh"
        worker = _start_worker(scheduler, shared / "worker", as_user=NOBODY)
        try:
            done = run_cli("convert", src, lake, "--warehouse", wh, "--scheduler", scheduler)
        finally:
            _stop(worker)
        assert done.returncode == ExitCode.WORKER_CANNOT_SEE_PATH, done.stderr
        assert "worker tcp://127.0.0.1:" in done.stderr
        assert f"source folder {src}" in done.stderr
        assert not lake.exists()
        assert not (wh / "state.duckdb").exists()
    finally:
        shutil.rmtree(shared, ignore_errors=True)


@pytest.mark.faults
@pytest.mark.slow
def test_the_scheduler_lost_mid_run_is_exit_19_and_a_local_run_finishes(fleet, local_conversion, tmp_path) -> None:
    """SIGKILL to a real scheduler while `convert --scheduler` is converting: one error line, exit 19; what
    was published stays published and in the ledger; a local run finishes the rest, as a clean run would."""
    _, csv = fleet
    local_wh, local_lake = local_conversion
    wh, lake = tmp_path / "wh", tmp_path / "lake"
    address, scheduler = _start_scheduler()
    worker = None
    try:
        worker = _start_worker(address, tmp_path / "worker")
        proc = popen_cli("convert", csv, lake, "--warehouse", wh, "--scheduler", address)
        # Mid-run: a source published, another being staged.
        _wait_for(lambda: lake.is_dir() and bool(_published(lake)) and _staging_in_progress(lake))
        _stop(scheduler)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == ExitCode.SCHEDULER_UNREACHABLE, stderr
        assert stderr.count("duckwifi: error:") == 1
        assert "Traceback" not in stderr
        assert "the Dask scheduler at" in stderr
        assert "run the command again" in stderr
        # What was published stays published, and is in the ledger: every file of every recorded source.
        recorded = _ledger(wh)
        assert 0 < len(recorded) < HOURS
        assert _published(lake) == {output for row in recorded for output in row[5]}
        # The worker may still be staging its last task: the next run's staging of that source waits for it.
        done = run_cli("convert", csv, lake, "--warehouse", wh)
    finally:
        _stop(scheduler)
        if worker is not None:
            _stop(worker)
    assert done.returncode == 0, done.stderr
    assert f"{len(recorded)} already converted" in done.stderr or len(recorded) == 0
    assert _lake_contents(lake) == _lake_contents(local_lake)
    assert _ledger(wh) == _ledger(local_wh)
    assert _rollups(wh) == _rollups(local_wh)
    assert not any((lake / "_staging").iterdir())
