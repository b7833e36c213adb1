"""The DUCKWIFI_* settings: applied to every DuckDB connection, and a bad value is a usage error, never damage."""

from __future__ import annotations

from pathlib import Path

import pytest

from duckwifi.errors import ExitCode
from duckwifi.warehouse import Warehouse, work_connection
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
