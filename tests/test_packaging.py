"""The SQL ships inside the wheel, and an installed duckwifi works from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_the_sql_and_runs_from_another_folder(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheels, ROOT],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("duckwifi-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for sql_file in (ROOT / "sql").rglob("*.sql"):
        assert f"duckwifi/sql/{sql_file.relative_to(ROOT / 'sql').as_posix()}" in names

    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target, wheel],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("DUCKWIFI_WAREHOUSE", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "duckwifi", *args], cwd=elsewhere, env=env, capture_output=True, text=True
        )

    where = subprocess.run(
        [sys.executable, "-c", "import duckwifi; print(duckwifi.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(target))
    assert run("init", "--devices", "30").returncode == 0
    assert run("tick", "--out", "csv").returncode == 0
    converted = run("convert", "csv", "lake")
    assert converted.returncode == 0, converted.stderr
    assert (elsewhere / "warehouse" / "warehouse.duckdb").is_file()
    assert list((elsewhere / "lake").rglob("*.parquet"))
