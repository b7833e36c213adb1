"""The DUCKWIFI_* settings: applied to every DuckDB connection, and a bad value is a usage error, never damage."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from duckwifi.errors import BadArgument, ExitCode
from duckwifi.warehouse import MIN_MEMORY_LIMIT_BYTES, Warehouse, memory_limit, work_connection
from tests.conftest import invoke, run_cli

BAD_SETTINGS = [
    ("DUCKWIFI_MEMORY_LIMIT", "lots"),
    ("DUCKWIFI_MEMORY_LIMIT", "-1GB"),
    ("DUCKWIFI_MEMORY_LIMIT", "2 furlongs"),
    ("DUCKWIFI_MEMORY_LIMIT", "1000B"),
    ("DUCKWIFI_MEMORY_LIMIT", "0%"),
    ("DUCKWIFI_OPEN_TIMEOUT", "abc"),
    ("DUCKWIFI_OPEN_TIMEOUT", "-3"),
    ("DUCKWIFI_OPEN_TIMEOUT", "nan"),
]


def _contents(warehouse_dir: Path) -> dict[str, bytes]:
    """Every file of the warehouse but the (empty) lock files a command takes before it reads settings."""
    return {p.name: p.read_bytes() for p in warehouse_dir.iterdir() if p.is_file() and p.suffix != ".lock"}


@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS)
def test_a_bad_setting_is_a_usage_error_and_the_warehouse_is_left_alone(
    runner, warehouse_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    before = _contents(warehouse_dir)
    monkeypatch.setenv(name, value)
    elsewhere = warehouse_dir.parent
    commands = [
        ["status"],
        ["convert", elsewhere, elsewhere / "lake"],
        ["tick", "--out", elsewhere / "csv"],
    ]
    for args in commands:
        result = invoke(runner, *args, "--warehouse", warehouse_dir)
        assert result.exit_code == ExitCode.USAGE, result.output
        assert result.stderr.count("\n") == 1, result.stderr
        assert name in result.stderr
        assert "damaged" not in result.stderr
    assert _contents(warehouse_dir) == before


def test_a_bad_setting_in_a_real_process_is_one_line_without_traceback(warehouse_dir: Path) -> None:
    result = run_cli("status", "--warehouse", warehouse_dir, env={"DUCKWIFI_OPEN_TIMEOUT": "soon"})
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith("duckwifi: error: DUCKWIFI_OPEN_TIMEOUT")
    assert "Traceback" not in result.stderr


def test_the_memory_limit_and_spill_folder_apply_to_the_working_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    monkeypatch.setenv("DUCKWIFI_MEMORY_LIMIT", "300MB")
    with work_connection(warehouse) as con:
        limit, spill = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone()
    assert limit == "286.1 MiB"  # DuckDB shows 300,000,000 bytes in MiB
    assert Path(spill) == warehouse.spill_dir
    monkeypatch.delenv("DUCKWIFI_MEMORY_LIMIT")
    with work_connection(warehouse) as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("1.8 GiB",)


@pytest.mark.parametrize("value", ["2GB", "1.5 GB", "500MiB", "2gb", "50%", "100MB"])
def test_every_memory_limit_accepted_here_is_accepted_by_duckdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DUCKWIFI_MEMORY_LIMIT", value)
    with work_connection(Warehouse(tmp_path / "wh")) as con:
        assert con.execute("SELECT 42").fetchone() == (42,)


# Spellings of a memory size, DuckDB's and not: the accepted set is compared with DuckDB's own answer.
MEMORY_SPELLINGS = [
    *("2G", "2GB", "2GiB", "2 GB", "2g", "2gib", "2 gib", "2T", "1.5G", "1.5GB", "500M", "500MiB", "500MB"),
    *("100000000B", "100000000 bytes", "2 gigabytes", "2 gigabyte", "250 megabytes", "2Gb", " 2GB", "2GB "),
    *("2 G", "2.GB", ".5GB", "0.5TB", "2tb", "2 TiB", "50%", "50 %", "100%", "0.5%", "100MB", "99MB", "95MiB"),
    *("100000000", "1e9", "2,5GB", "2GBs", "2KB", "2k", "2 megabytes", "2 tebibytes", "150%", "0%", "", "GB"),
]
_DUCKDB_SHOWN = re.compile(r"(?P<number>[\d.]+) (?P<unit>bytes|KiB|MiB|GiB|TiB)")
_SHOWN_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _duckdb_accepts(value: str) -> bool:
    """DuckDB takes the value as a memory limit of at least 100MB (duckwifi's floor) or as a share of memory."""
    try:
        with duckdb.connect(config={"memory_limit": value}) as con:
            (shown,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
    except duckdb.Error:
        return False
    if value.strip().endswith("%"):
        return True
    size = _DUCKDB_SHOWN.fullmatch(shown)
    assert size is not None, shown
    # DuckDB shows one decimal, cut rather than rounded: allow that much below the floor.
    return float(size["number"]) * _SHOWN_UNITS[size["unit"]] >= MIN_MEMORY_LIMIT_BYTES * 0.999


@pytest.mark.parametrize("value", MEMORY_SPELLINGS)
def test_the_memory_limits_accepted_are_those_duckdb_accepts(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DUCKWIFI_MEMORY_LIMIT", value)
    try:
        memory_limit()
        accepted = True
    except BadArgument:
        accepted = False
    assert accepted == _duckdb_accepts(value)


@pytest.mark.parametrize("value", ["-1", "none", "null", "-1GB"])
def test_duckdbs_no_limit_values_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    # DuckDB reads these as "no limit"; duckwifi needs a limit so that the heavy work spills instead of failing.
    monkeypatch.setenv("DUCKWIFI_MEMORY_LIMIT", value)
    with pytest.raises(BadArgument, match="DUCKWIFI_MEMORY_LIMIT"):
        memory_limit()


@pytest.mark.parametrize("value", [" ", "", "\t"])
def test_a_blank_warehouse_path_is_a_usage_error(runner, tmp_path: Path, value: str) -> None:
    for args in (["status"], ["tick", "--out", tmp_path / "csv"], ["init", "--devices", "10"]):
        by_option = invoke(runner, *args, "--warehouse", value)
        assert by_option.exit_code == ExitCode.USAGE, by_option.output
        assert "the path is blank" in by_option.stderr
    if value:  # an empty variable counts as unset, as for any click option
        by_variable = run_cli("tick", "--out", tmp_path / "csv", env={"DUCKWIFI_WAREHOUSE": value}, cwd=tmp_path)
        assert by_variable.returncode == ExitCode.USAGE, by_variable.stderr
        assert "DUCKWIFI_WAREHOUSE" in by_variable.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "no folder may be created"


def test_the_warehouse_may_be_given_before_the_command(runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = tmp_path / "wh"
    made = invoke(runner, "-w", wh, "init", "--devices", "10")
    assert made.exit_code == 0, made.output
    assert (wh / "state.duckdb").is_file()
    assert f"warehouse: {wh}" in invoke(runner, "-w", wh, "status").stdout
    # Before the command it wins over the variable; the command's own -w wins over it.
    monkeypatch.setenv("DUCKWIFI_WAREHOUSE", str(tmp_path / "by-variable"))
    assert f"warehouse: {wh}" in invoke(runner, "-w", wh, "status").stdout
    assert f"warehouse: {wh}" in invoke(runner, "-w", tmp_path / "before", "status", "-w", wh).stdout
    blank = invoke(runner, "-w", " ", "status")
    assert blank.exit_code == ExitCode.USAGE, blank.output
    assert "the path is blank" in blank.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wh"]
