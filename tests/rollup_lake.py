"""A small real lake for the rollup tests: real ticks, some hours split into one CSV per region, real converts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from duckwifi.contract import HEADER_LINE
from tests.conftest import run_cli


@dataclass(frozen=True)
class SmallLake:
    warehouse: Path
    src: Path
    lake: Path
    ticks: Path


def split_by_region(csv: Path, out: Path) -> list[Path]:
    """One CSV per region from one hour's CSV, keeping every line's text (several sources for one hour)."""
    lines = csv.read_text().splitlines()
    assert lines[0] == HEADER_LINE
    parts: dict[str, list[str]] = {}
    for line in lines[1:]:
        parts.setdefault(line.split(",", 2)[1], []).append(line)
    written = []
    for region, rows in sorted(parts.items()):
        target = out / f"{csv.stem}_{region}.csv"
        target.write_text("\n".join([HEADER_LINE, *rows]) + "\n")
        written.append(target)
    return written


def build(root: Path, *, devices: int = 300, hours: int = 28, start: str = "2020-01-01 22:00:00") -> SmallLake:
    """``hours`` hours from ``start`` (so partial days at both ends and whole days between); even hours are
    split into one source per region; all converted."""
    wh, ticks, src, lake = root / "wh", root / "ticks", root / "csv", root / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", devices, "--seed", 11, "--start", start).returncode == 0
    result = run_cli("tick", "--warehouse", wh, "--out", ticks, "--hours", hours)
    assert result.returncode == 0, result.stderr
    src.mkdir()
    for index, csv in enumerate(sorted(ticks.glob("*.csv"))):
        if index % 2 == 0:
            split_by_region(csv, src)
        else:
            (src / csv.name).write_bytes(csv.read_bytes())
    result = run_cli("convert", src, lake, "--warehouse", wh)
    assert result.returncode == 0, result.stderr
    return SmallLake(wh, src, lake, ticks)


def raw(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """The readers' view of the raw lake, with the rollups' bucket and cell functions for comparisons."""
    from duckwifi import queries

    con = duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True)
    con.execute(queries.load("rollups/create_rollup_macros.sql"))
    return con
