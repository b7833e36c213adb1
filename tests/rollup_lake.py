"""A small real lake for the rollup tests: real ticks, some hours split into one CSV per region, real converts."""

from __future__ import annotations

import math
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from duckwifi.contract import HEADER_LINE
from duckwifi.serving.catalogue import QUANTILES
from tests.conftest import run_cli

# The sketch's bound on a quantile's relative error (docs/rollups.md).
RELATIVE_ERROR = 0.02


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


def build(
    root: Path,
    *,
    devices: int = 300,
    hours: int = 28,
    start: str = "2020-01-01 22:00:00",
    kept: Container[int] | None = None,
) -> SmallLake:
    """``hours`` hours from ``start`` (so partial days at both ends and whole days between); even hours are
    split into one source per region; all converted, or only the hours whose index is in ``kept``."""
    wh, ticks, src, lake = root / "wh", root / "ticks", root / "csv", root / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", devices, "--seed", 11, "--start", start).returncode == 0
    result = run_cli("tick", "--warehouse", wh, "--out", ticks, "--hours", hours)
    assert result.returncode == 0, result.stderr
    src.mkdir()
    for index, csv in enumerate(sorted(ticks.glob("*.csv"))):
        if kept is not None and index not in kept:
            continue
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


def raw_expression(metric: str, stat: str) -> str:
    # Test code: the metric and stat come from the library's allow-lists (drawn below), never from input.
    if stat == "count":
        return "count(*)"
    if stat == "stddev":
        return f"stddev_samp({metric})"
    if stat in QUANTILES:
        return f"quantile_disc({metric}, {QUANTILES[stat]})"
    return f"{stat}({metric})"


def raw_where(start: datetime, end: datetime, region: list[str], state: list[str], band: list[int]) -> tuple[str, dict]:
    clauses = ["datetime >= $start", "datetime < $end"]
    params: dict[str, Any] = {"start": start, "end": end}
    for name, values in (("region", region), ("state", state), ("band", band)):
        if values:
            clauses.append(f"list_contains(${name}s, {name})")
            params[f"{name}s"] = values
    return " AND ".join(clauses), params


def close_enough(stat: str, got: float | None, want: Any) -> bool:
    if want is None or got is None:
        return got is None and want is None
    want = float(want)
    if stat in ("count", "min", "max"):
        return got == want
    if stat in QUANTILES:
        return abs(got - want) <= RELATIVE_ERROR * abs(want) * (1 + 1e-9) + 1e-12
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


def assert_map_matches_raw(raw_con, got, metric, stat, start, end, region, state) -> None:
    where, params = raw_where(start, end, region, state, [])
    want = raw_con.execute(
        f"SELECT map_cell, {raw_expression(metric, stat)}, count(*) FROM ("
        "SELECT *, rollup_cell_id(r, rollup_cell_col(r, longitude)) AS map_cell "
        f"FROM (SELECT *, rollup_cell_row(latitude) AS r FROM telemetry WHERE {where})"
        ") GROUP BY map_cell ORDER BY map_cell",
        params,
    ).fetchall()
    assert [c["cell"] for c in got] == [w[0] for w in want]
    for cell, (_, value, count) in zip(got, want, strict=True):
        assert cell["count"] == count
        assert close_enough(stat, cell["value"], value)


def assert_distribution_matches_raw(store, raw_con, metric, start, end, region, state) -> None:
    got = store.distribution(metric, start, end, region=region, state=state)
    where, params = raw_where(start, end, region, state, [])
    want = raw_con.execute(
        f"SELECT quantile_disc({metric}, 0.5), quantile_disc({metric}, 0.9), quantile_disc({metric}, 0.99), "
        f"count(*) FROM telemetry WHERE {where}",
        params,
    ).fetchone()
    assert got["count"] == want[3]
    for name, value in zip(("p50", "p90", "p99"), want[:3], strict=True):
        assert close_enough(name, got[name], value), (name, got[name], value)
    assert sum(b["count"] for b in got["bins"]) == want[3]
    values = [float(v) for (v,) in raw_con.execute(f"SELECT {metric} FROM telemetry WHERE {where}", params).fetchall()]
    for b in got["bins"]:
        assert b["lower"] <= b["upper"]
        assert b["count"] == sum(1 for v in values if b["lower"] < v <= b["upper"] or v == b["lower"] == 0), b
