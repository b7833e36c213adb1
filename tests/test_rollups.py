"""The rollup store: produced by convert in the same unit of work, per source, published by manifest swap."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from duckwifi import queries
from duckwifi.converter.identity import MARKER_NAME
from duckwifi.errors import ExitCode, InvalidQuery, QueryNotServed, RollupsDamaged
from duckwifi.rollups import store as rollup_store
from duckwifi.serving import ServingStore
from duckwifi.serving.catalogue import STATE_REGIONS
from duckwifi.warehouse import Warehouse
from tests.conftest import invoke, popen_cli, run_cli

FIRST = datetime(2020, 1, 1)


@pytest.fixture
def converted(runner, warehouse_dir: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two hours of the 500-device fleet, converted: (warehouse, csv folder, lake)."""
    src, lake = tmp_path / "csv", tmp_path / "lake"
    assert invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", src, "--hours", "2").exit_code == 0
    result = invoke(runner, "convert", src, lake, "--warehouse", warehouse_dir)
    assert result.exit_code == 0, result.output
    return warehouse_dir, src, lake


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> ServingStore:
    """A read-only store over two converted hours of a 500-device fleet, shared by the tests that only ask."""
    root = tmp_path_factory.mktemp("shared")
    wh, src, lake = root / "wh", root / "csv", root / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", 500, "--seed", 7).returncode == 0
    assert run_cli("tick", "--warehouse", wh, "--out", src, "--hours", 2).returncode == 0
    assert run_cli("convert", src, lake, "--warehouse", wh).returncode == 0
    return ServingStore(wh)


def _raw_counts(warehouse: Path) -> list[tuple[datetime, int]]:
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "SELECT date_trunc('hour', datetime) AS t, count(*) FROM telemetry GROUP BY t ORDER BY t"
        ).fetchall()


def _served_counts(warehouse: Path) -> list[tuple[datetime, int]]:
    served = ServingStore(warehouse)
    try:
        return [(p["time"], p["count"]) for p in served.timeseries("metric_1", "count")]
    finally:
        served.close()


def _unit_dirs(warehouse: Path) -> set[str]:
    return {p.name for p in (warehouse / "rollups" / "units").iterdir()}


def test_convert_publishes_one_unit_per_source_outside_the_lake(converted) -> None:
    warehouse, src, lake = converted
    manifest = rollup_store.read_manifest(Warehouse(warehouse))
    assert sorted(u.source for u in manifest.units) == sorted(str(p.resolve()) for p in src.glob("*.csv"))
    assert {u.unit for u in manifest.units} == _unit_dirs(warehouse)
    assert manifest.lake == str(lake.resolve())
    assert all(u.rows == 500 and len(u.hours) == 1 for u in manifest.units)
    # The lake stays pure telemetry: every file under it is a telemetry Parquet file, but the lake's marker.
    assert {p.suffix for p in lake.rglob("*") if p.is_file() and p.name != MARKER_NAME} == {".parquet"}
    assert _served_counts(warehouse) == _raw_counts(warehouse)


def test_manifest_is_the_documented_format(converted) -> None:
    warehouse, _, _ = converted
    data = json.loads((warehouse / "rollups" / "manifest.json").read_text())
    assert data["format"] == 1
    assert set(data) == {"format", "generation", "version", "lake", "units"}
    for unit in data["units"]:
        assert set(unit["files"]) == {"stats", "sketch", "cells"}
        for relative in unit["files"].values():
            assert (warehouse / "rollups" / relative).is_file()


def test_a_new_hour_changes_the_version_and_refresh_loads_it(runner, converted) -> None:
    warehouse, src, lake = converted
    served = ServingStore(warehouse)
    version = served.version
    assert not served.refresh()
    assert invoke(runner, "tick", "--warehouse", warehouse, "--out", src).exit_code == 0
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse).exit_code == 0
    assert served.version == version
    assert served.refresh()
    assert served.version != version
    assert served.overview()["hours"] == 3
    assert [(p["time"], p["count"]) for p in served.timeseries("metric_1", "count")] == _raw_counts(warehouse)


def test_replace_changed_replaces_exactly_the_source_units(runner, converted) -> None:
    warehouse, src, lake = converted
    served = ServingStore(warehouse)
    before = rollup_store.read_manifest(Warehouse(warehouse))
    changed = sorted(src.glob("*.csv"))[0]
    lines = changed.read_text().splitlines(keepends=True)
    changed.write_text("".join(lines[:301]))
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse).exit_code == ExitCode.SOURCE_CHANGED
    result = invoke(runner, "convert", src, lake, "--warehouse", warehouse, "--replace-changed")
    assert result.exit_code == 0, result.output
    after = rollup_store.read_manifest(Warehouse(warehouse))
    replaced = {u.source: u for u in after.units}[str(changed.resolve())]
    assert replaced.rows == 300
    assert replaced.unit not in {u.unit for u in before.units}
    assert _unit_dirs(warehouse) == {u.unit for u in after.units}
    assert served.refresh()
    assert [(p["time"], p["count"]) for p in served.timeseries("metric_1", "count")] == _raw_counts(warehouse)
    assert served.timeseries("metric_4", "max", FIRST, FIRST + timedelta(hours=1)) == [
        {"time": FIRST, "value": float(_raw_one(warehouse, "max(metric_4)", FIRST)), "count": 300}
    ]


def _raw_one(warehouse: Path, expression: str, hour: datetime) -> object:
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            f"SELECT {expression} FROM telemetry WHERE date_trunc('hour', datetime) = $h", {"h": hour}
        ).fetchone()[0]


def test_a_rejected_file_contributes_nothing(runner, converted) -> None:
    warehouse, src, lake = converted
    (src / "telemetry_2030-01-01_00.csv").write_text("not,the,header\n")
    result = invoke(runner, "convert", src, lake, "--warehouse", warehouse)
    assert result.exit_code == ExitCode.REJECTED
    manifest = rollup_store.read_manifest(Warehouse(warehouse))
    assert len(manifest.units) == 2
    assert _unit_dirs(warehouse) == {u.unit for u in manifest.units}


def test_removing_a_source_removes_exactly_its_contribution(converted) -> None:
    warehouse, src, _ = converted
    target = Warehouse(warehouse)
    served = ServingStore(warehouse)
    first = sorted(src.glob("*.csv"))[0]
    rollup_store.remove_sources(target, [str(first.resolve())])
    assert len(rollup_store.read_manifest(target).units) == 1
    assert served.refresh()
    assert [p["time"] for p in served.timeseries("metric_1", "count")] == [FIRST + timedelta(hours=1)]
    assert served.map_cells("metric_1", "count", FIRST, FIRST + timedelta(hours=1)) == []
    assert served.distribution("metric_1", FIRST, FIRST + timedelta(hours=1))["count"] == 0


def test_an_interrupted_store_refreshes_no_more_and_keeps_answering_what_it_had(runner, converted) -> None:
    warehouse, _, lake = converted
    served = ServingStore(warehouse)
    try:
        before = served.timeseries("metric_1", "count")
        version = served.version
        served.interrupt()  # what a stopping server does; nothing is loading, so later refreshes stop
        more = warehouse.parent / "more"
        assert invoke(runner, "tick", "--warehouse", warehouse, "--out", more).exit_code == 0
        assert invoke(runner, "convert", more, lake, "--warehouse", warehouse).exit_code == 0
        with pytest.raises(duckdb.InterruptException):
            served.refresh()
        assert served.version == version
        assert served.timeseries("metric_1", "count") == before
    finally:
        served.close()
    assert len(_served_counts(warehouse)) == len(before) + 1


def test_rebuild_remakes_lost_rollups(runner, converted) -> None:
    warehouse, _, _ = converted
    expected = _served_counts(warehouse)
    import shutil

    shutil.rmtree(warehouse / "rollups")
    assert _served_counts(warehouse) == []
    result = invoke(runner, "rollup", "--rebuild", "--warehouse", warehouse)
    assert result.exit_code == 0, result.output
    assert _served_counts(warehouse) == expected


def test_convert_refuses_a_rollups_folder_deleted_under_converted_sources(runner, converted) -> None:
    """Converting on would start a fresh store holding only the new hours, and the dashboard would call it
    healthy: the missing store stops the convert, before anything is converted, until it is rebuilt."""
    warehouse, src, lake = converted
    import shutil

    shutil.rmtree(warehouse / "rollups")
    assert invoke(runner, "tick", "--warehouse", warehouse, "--out", src).exit_code == 0
    lake_before = sorted(p.name for p in lake.rglob("*.parquet"))
    refused = invoke(runner, "convert", src, lake, "--warehouse", warehouse)
    assert refused.exit_code == ExitCode.CORRUPT, refused.output
    assert refused.stderr == (
        f"duckwifi: error: the rollup store's manifest {warehouse / 'rollups' / 'manifest.json'} is gone, and "
        "the ledger records 2 converted source(s); run `duckwifi rollup --rebuild` to rebuild it from the lake\n"
    )
    assert sorted(p.name for p in lake.rglob("*.parquet")) == lake_before
    assert not (warehouse / "rollups" / "manifest.json").exists()
    assert invoke(runner, "rollup", "--rebuild", "--warehouse", warehouse).exit_code == 0
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse).exit_code == 0
    assert _served_counts(warehouse) == _raw_counts(warehouse)
    assert len(_served_counts(warehouse)) == 3


def test_convert_refuses_units_deleted_under_the_manifest(runner, converted) -> None:
    """Units deleted by hand while the manifest stays: converting on would publish a manifest that still lists
    them, which no reader can load. The convert stops before converting anything, until the store is rebuilt."""
    warehouse, src, lake = converted
    import shutil

    shutil.rmtree(warehouse / "rollups" / "units")
    assert invoke(runner, "tick", "--warehouse", warehouse, "--out", src).exit_code == 0
    lake_before = sorted(p.name for p in lake.rglob("*.parquet"))
    refused = invoke(runner, "convert", src, lake, "--warehouse", warehouse)
    assert refused.exit_code == ExitCode.CORRUPT, refused.output
    assert refused.stderr.startswith(
        f"duckwifi: error: 2 unit(s) the rollup store lists are gone from {warehouse / 'rollups' / 'units'} "
    )
    assert refused.stderr.endswith("run `duckwifi rollup --rebuild` to rebuild the store from the lake\n")
    assert sorted(p.name for p in lake.rglob("*.parquet")) == lake_before
    # Forgetting a source would publish the manifest again, still listing them: refused the same way.
    forgotten = invoke(runner, "forget", sorted(src.glob("*.csv"))[0], "--warehouse", warehouse)
    assert forgotten.exit_code == ExitCode.CORRUPT, forgotten.output
    assert forgotten.stderr == refused.stderr
    assert sorted(p.name for p in lake.rglob("*.parquet")) == lake_before
    assert invoke(runner, "rollup", "--rebuild", "--warehouse", warehouse).exit_code == 0
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse).exit_code == 0
    assert _served_counts(warehouse) == _raw_counts(warehouse)
    assert len(_served_counts(warehouse)) == 3


def test_rebuild_names_a_lake_file_it_cannot_read_and_the_way_out(runner, converted) -> None:
    warehouse, _, lake = converted
    manifest = (warehouse / "rollups" / "manifest.json").read_bytes()
    damaged = sorted(lake.rglob("*.parquet"))[0]
    damaged.write_bytes(damaged.read_bytes()[:100])
    result = invoke(runner, "rollup", "--rebuild", "--warehouse", warehouse)
    assert result.exit_code == ExitCode.LAKE_UNREADABLE, result.output
    assert result.stderr.startswith("duckwifi: error: cannot rebuild the rollups of ")
    assert result.stderr.endswith(
        "; `duckwifi check` lists missing and damaged lake files, and `duckwifi check --repair` restores them\n"
    )
    assert len(result.stderr.splitlines()) == 1
    assert (warehouse / "rollups" / "manifest.json").read_bytes() == manifest
    assert invoke(runner, "check", "--repair", "--warehouse", warehouse).exit_code == 0
    assert invoke(runner, "rollup", "--rebuild", "--warehouse", warehouse).exit_code == 0
    assert _served_counts(warehouse) == _raw_counts(warehouse)
    lake.rename(lake.with_name("elsewhere"))
    gone = invoke(runner, "rollup", "--rebuild", "--warehouse", warehouse)
    assert gone.exit_code == ExitCode.LAKE_UNREADABLE, gone.output
    assert gone.stderr.startswith(f"duckwifi: error: the lake {lake} is gone")


@pytest.mark.faults
def test_a_rebuild_stopped_by_ctrl_c_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    import signal

    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", 20_000, "--seed", 3).returncode == 0
    assert run_cli("tick", "--warehouse", wh, "--out", src, "--hours", 8).returncode == 0
    assert run_cli("convert", src, lake, "--warehouse", wh).returncode == 0
    units = wh / "rollups" / "units"
    before = sorted(p.name for p in units.iterdir())
    manifest = (wh / "rollups" / "manifest.json").read_bytes()
    rebuilding = popen_cli("rollup", "--rebuild", "--warehouse", wh)
    deadline = time.monotonic() + 60
    while len(list(units.iterdir())) <= len(before) and time.monotonic() < deadline:
        time.sleep(0.01)
    rebuilding.send_signal(signal.SIGINT)
    _, stderr = rebuilding.communicate(timeout=60)
    assert rebuilding.returncode == ExitCode.INTERRUPTED, stderr
    assert sorted(p.name for p in units.iterdir()) == before
    assert (wh / "rollups" / "manifest.json").read_bytes() == manifest


def test_rebuild_mends_a_damaged_manifest_as_its_message_says(runner, converted) -> None:
    warehouse, _, _ = converted
    expected = _served_counts(warehouse)
    (warehouse / "rollups" / "manifest.json").write_text("{bad")
    status = invoke(runner, "convert", converted[1], converted[2], "--warehouse", warehouse)
    assert status.exit_code == ExitCode.CORRUPT
    assert "run `duckwifi rollup --rebuild`" in status.stderr
    result = invoke(runner, "rollup", "--rebuild", "--warehouse", warehouse)
    assert result.exit_code == 0, result.output
    assert _served_counts(warehouse) == expected


def test_rollup_without_rebuild_or_without_a_lake_is_a_usage_error(runner, warehouse_dir) -> None:
    assert invoke(runner, "rollup", "--warehouse", warehouse_dir).exit_code == ExitCode.USAGE
    result = invoke(runner, "rollup", "--rebuild", "--warehouse", warehouse_dir)
    assert result.exit_code == ExitCode.USAGE
    assert "no lake" in result.stderr


def test_a_damaged_manifest_is_reported_with_the_way_out(converted) -> None:
    warehouse, _, _ = converted
    (warehouse / "rollups" / "manifest.json").write_text("{not json")
    with pytest.raises(RollupsDamaged, match="rollup --rebuild"):
        ServingStore(warehouse)


def test_an_empty_store_answers_empty(warehouse_dir) -> None:
    served = ServingStore(warehouse_dir)
    assert served.overview()["hours"] == 0
    assert served.overview()["first_hour"] is None
    assert served.timeseries("metric_1", "avg") == []
    assert served.breakdown("metric_1", "p99") == []
    assert served.map_cells("metric_1", "avg") == []
    assert served.distribution("metric_1")["p50"] is None


def test_the_loaded_store_is_compressed(shared_store) -> None:
    # DuckDB compresses an in-memory database only when it is checkpointed, and keeps rows as written until
    # then (about five times the memory, docs/benchmarks.md): every load ends with a checkpoint.
    con = shared_store._connection()
    for table in ("sketch_day", "stats_hour", "cells_hour"):
        kinds = con.execute("SELECT DISTINCT compression FROM pragma_storage_info(?)", [table]).fetchall()
        assert {kind for (kind,) in kinds} - {"Uncompressed"}, table


# -- bad input to every function -----------------------------------------------------------------------

BAD_CALLS = [
    ("metric", "timeseries", ("metric_21", "avg"), {}),
    ("metric", "timeseries", ("metric_1; DROP TABLE x", "avg"), {}),
    ("metric", "breakdown", (None, "avg"), {}),
    ("metric", "map_cells", ("METRIC_1", "avg"), {}),
    ("metric", "distribution", ("metric_0",), {}),
    ("stat", "timeseries", ("metric_1", "median"), {}),
    ("stat", "breakdown", ("metric_1", "sum"), {}),
    ("stat", "map_cells", ("metric_1", "p75"), {}),
    ("stat", "map_cells", ("metric_1", "p99"), {}),
    ("stat", "map_cells", ("metric_1", "stddev"), {}),
    ("state", "timeseries", ("metric_1", "avg"), {"state": "XX"}),
    ("state", "breakdown", ("metric_1", "avg"), {"state": ["TX", "tx"]}),
    ("state", "map_cells", ("metric_1", "avg"), {"state": "'; --"}),
    ("state", "distribution", ("metric_1",), {"state": 5}),
    ("region", "timeseries", ("metric_1", "avg"), {"region": "Pacific"}),
    ("region", "distribution", ("metric_1",), {"region": ["west"]}),
    ("band", "timeseries", ("metric_1", "avg"), {"band": 0}),
    ("band", "breakdown", ("metric_1", "avg"), {"band": [11]}),
    ("band", "breakdown", ("metric_1", "avg"), {"band": "3"}),
    ("band", "timeseries", ("metric_1", "p50"), {"band": 3}),
    ("by", "breakdown", ("metric_1", "p90"), {"by": "band"}),
    ("band", "distribution", ("metric_1",), {"band": 2}),
    ("band", "map_cells", ("metric_1", "avg"), {"band": 2}),
    ("bucket", "timeseries", ("metric_1", "avg"), {"bucket": "week"}),
    ("by", "breakdown", ("metric_1", "avg"), {"by": "site"}),
    ("limit", "breakdown", ("metric_1", "avg"), {"limit": 0}),
    ("limit", "breakdown", ("metric_1", "avg"), {"limit": 1001}),
    ("bins", "distribution", ("metric_1",), {"bins": 0}),
    ("start", "timeseries", ("metric_1", "avg"), {"start": datetime(2020, 1, 1, 0, 30)}),
    ("end", "breakdown", ("metric_1", "avg"), {"end": datetime(2020, 1, 1, 1, 0, 1)}),
    ("start", "map_cells", ("metric_1", "avg"), {"start": "2020-01-01T00:00:00"}),
    ("start", "distribution", ("metric_1",), {"start": datetime(2020, 1, 2), "end": datetime(2020, 1, 1)}),
]


@pytest.mark.parametrize(("parameter", "function", "args", "kwargs"), BAD_CALLS)
def test_bad_input_is_an_error_naming_the_parameter(shared_store, parameter, function, args, kwargs) -> None:
    served = shared_store
    with pytest.raises(InvalidQuery) as caught:
        getattr(served, function)(*args, **kwargs)
    assert caught.value.parameter == parameter
    assert caught.value.exit_code == ExitCode.USAGE
    assert str(caught.value).startswith(parameter)


def test_refusals_are_their_own_kind(shared_store) -> None:
    served = shared_store
    with pytest.raises(QueryNotServed):
        served.timeseries("metric_1", "p99", band=[1, 2])


@pytest.mark.parametrize("function", ["timeseries", "breakdown", "map_cells"])
def test_an_empty_or_dataless_range_is_an_empty_answer(shared_store, function) -> None:
    served = shared_store
    call = getattr(served, function)
    assert call("metric_1", "avg", start=FIRST, end=FIRST) == []
    assert call("metric_1", "count", start=datetime(2019, 1, 1), end=datetime(2019, 1, 2)) == []
    assert served.distribution("metric_1", datetime(2030, 1, 1), datetime(2030, 1, 1, 5))["count"] == 0


def test_aware_times_are_read_as_utc(shared_store) -> None:
    from datetime import timezone

    served = shared_store
    aware = datetime(2020, 1, 1, 1, tzinfo=timezone.utc)
    assert served.timeseries("metric_1", "count", start=aware) == served.timeseries(
        "metric_1", "count", start=FIRST + timedelta(hours=1)
    )


def test_map_hours_older_than_the_hourly_window_are_read_from_the_units(converted) -> None:
    narrow = ServingStore(converted[0], window_hours=1)
    wide = ServingStore(converted[0])
    for start, end in [(FIRST, FIRST + timedelta(hours=1)), (FIRST, FIRST + timedelta(hours=2)), (FIRST, None)]:
        assert narrow.map_cells("metric_3", "avg", start, end) == wide.map_cells("metric_3", "avg", start, end)
    for stat in ("p50", "p99"):
        assert narrow.timeseries("metric_3", stat, state=["CA", "TX"]) == wide.timeseries(
            "metric_3", stat, state=["CA", "TX"]
        )
        assert narrow.breakdown("metric_3", stat, by="state") == wide.breakdown("metric_3", stat, by="state")
    assert narrow.distribution("metric_3", state="TX") == wide.distribution("metric_3", state="TX")
    # The scratch rows of one question never leak into the next.
    recent = narrow.map_cells("metric_3", "count", FIRST + timedelta(hours=1), FIRST + timedelta(hours=2))
    assert sum(c["count"] for c in recent) == 500
    whole_day = narrow.map_cells("metric_1", "count", FIRST, FIRST + timedelta(days=1))
    assert sum(c["count"] for c in whole_day) == 1000


def test_catalogue_states_match_the_contract_table() -> None:
    with duckdb.connect() as con:
        con.execute(queries.load("reference/state_regions.sql"))
        assert dict(con.execute("SELECT state, region FROM state_regions").fetchall()) == STATE_REGIONS


# -- the sketch ------------------------------------------------------------------------------------------

values = st.decimals(min_value=Decimal("-99999.9999"), max_value=Decimal("99999.9999"), places=4)


@given(xs=st.lists(values, min_size=1, max_size=50))
def test_sketch_buckets_keep_order_and_two_percent(xs) -> None:
    with duckdb.connect() as con:
        con.execute(queries.load("rollups/create_rollup_macros.sql"))
        rows = con.execute(
            "SELECT x, rollup_bucket(x) AS k, rollup_bucket_value(rollup_bucket(x)), rollup_bucket_lower(k), "
            "rollup_bucket_upper(k) FROM (SELECT CAST(unnest($xs) AS DECIMAL(9, 4)) AS x) ORDER BY x",
            {"xs": [str(x) for x in xs]},
        ).fetchall()
    keys = [r[1] for r in rows]
    assert keys == sorted(keys)
    for x, _key, representative, lower, upper in rows:
        x = float(x)
        assert abs(representative - x) <= 0.02 * abs(x) * (1 + 1e-9)
        assert lower <= x <= upper


# -- crash safety ----------------------------------------------------------------------------------------


@pytest.mark.faults
@pytest.mark.slow
def test_convert_killed_at_random_instants_keeps_rollups_exact(tmp_path: Path, request) -> None:
    rounds = request.config.getoption("--fault-rounds")
    rng = random.Random(12)
    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", 20_000).returncode == 0
    assert run_cli("tick", "--warehouse", wh, "--out", src, "--hours", 5).returncode == 0
    for _ in range(rounds):
        proc = popen_cli("convert", src, lake, "--warehouse", wh)
        time.sleep(rng.uniform(0.3, 3.0))
        proc.kill()
        proc.communicate()
        # Whatever a reader can see at this instant is whole: every listed unit's files are readable.
        if (wh / "rollups" / "manifest.json").exists():
            served = ServingStore(wh)
            listed = rollup_store.read_manifest(Warehouse(wh)).units
            assert served.overview()["rows"] == sum(u.rows for u in listed)
    final = run_cli("convert", src, lake, "--warehouse", wh)
    assert final.returncode == 0, final.stderr
    manifest = rollup_store.read_manifest(Warehouse(wh))
    assert len(manifest.units) == 5
    assert _unit_dirs(wh) == {u.unit for u in manifest.units}
    assert _served_counts(wh) == _raw_counts(wh)
    served = ServingStore(wh)
    with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
        exact = con.execute("SELECT quantile_disc(metric_9, 0.99), max(metric_9) FROM telemetry").fetchone()
    got = served.distribution("metric_9")
    assert abs(got["p99"] - float(exact[0])) <= 0.02 * float(exact[0])
    assert served.breakdown("metric_9", "max", by="region", limit=1)[0]["value"] == float(exact[1])


def test_readers_views_count_listed_units_only(converted) -> None:
    import shutil

    warehouse, _, _ = converted
    rollups = warehouse / "rollups"
    listed = sorted((rollups / "units").iterdir())
    # A unit written but not (yet) listed, as a convert leaves it just before its manifest swap.
    shutil.copytree(listed[0], rollups / "units" / "telemetry_unlisted-000000000000")
    with duckdb.connect() as con:
        con.execute(queries.with_path_literals(queries.load("readers/create_rollup_views.sql"), rollups=rollups))
        assert con.execute("SELECT count(*), sum(rows) FROM rollup_units").fetchone() == (2, 1000)
        per_hour = con.execute(
            "SELECT hour, sum(rows) FROM rollup_stats WHERE metric = 'metric_1' GROUP BY hour ORDER BY hour"
        ).fetchall()
        assert per_hour == _raw_counts(warehouse)
        assert con.execute("SELECT sum(rows) FROM rollup_sketch WHERE metric = 'metric_5'").fetchone() == (1000,)
        assert con.execute("SELECT sum(rows) FROM rollup_cells WHERE metric = 'metric_5'").fetchone() == (1000,)
        view_avg = con.execute("SELECT sum(sum) / sum(rows) FROM rollup_stats WHERE metric = 'metric_5'").fetchone()
    with duckdb.connect(str(warehouse / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT sum(metric_5) / count(*) FROM telemetry").fetchone() == view_avg


def test_readers_views_answer_while_convert_writes_units(tmp_path: Path) -> None:
    """A query of the rollup views during a convert never opens a unit table still being written (DuckDB reads
    the schema of the first file a glob lists): tables are written under hidden names and renamed when whole."""
    wh, ticks, src, lake = tmp_path / "wh", tmp_path / "ticks", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", 3000, "--seed", 5).returncode == 0
    assert run_cli("tick", "--warehouse", wh, "--out", ticks, "--hours", 10).returncode == 0
    src.mkdir()
    hours = sorted(ticks.glob("*.csv"))
    for csv in hours[:1]:
        (src / csv.name).write_bytes(csv.read_bytes())
    assert run_cli("convert", src, lake, "--warehouse", wh).returncode == 0
    for csv in hours[1:]:
        (src / csv.name).write_bytes(csv.read_bytes())
    converting = popen_cli("convert", src, lake, "--warehouse", wh)
    answers, failures = [], []
    while converting.poll() is None:
        try:
            with duckdb.connect(str(wh / "warehouse.duckdb"), read_only=True) as con:
                row = con.execute("SELECT sum(rows) FROM rollup_sketch WHERE metric = 'metric_5'").fetchone()
                answers.append(row[0] if row is not None else None)
        except duckdb.Error as error:
            failures.append(str(error))
    assert converting.wait() == 0
    assert failures == []
    assert len(answers) > 5
    # Every answer is a whole number of published hours: sources appear all or nothing.
    assert {int(a) % 3000 for a in answers if a is not None} == {0}
    assert not list((wh / "rollups" / "units").glob("*/.*.partial"))


def test_forget_withdraws_the_sources_rollups_with_its_lake_files(runner, converted) -> None:
    warehouse, src, _lake = converted
    hour0 = (src / "telemetry_2020-01-01_00.csv").resolve()
    assert invoke(runner, "forget", hour0, "--warehouse", warehouse).exit_code == 0
    assert str(hour0) not in rollup_store.read_manifest(Warehouse(warehouse)).by_source()
    assert _served_counts(warehouse) == _raw_counts(warehouse) == [(FIRST + timedelta(hours=1), 500)]


def test_a_store_refreshed_hour_by_hour_and_compacted_answers_as_a_fresh_one(runner, converted) -> None:
    warehouse, src, lake = converted
    followed = ServingStore(warehouse, window_hours=2, compact_after_hours=1)
    for _ in range(2):
        assert invoke(runner, "tick", "--warehouse", warehouse, "--out", src).exit_code == 0
        assert invoke(runner, "convert", src, lake, "--warehouse", warehouse).exit_code == 0
        assert followed.refresh()
    fresh = ServingStore(warehouse, window_hours=2)
    state = sorted(p["key"] for p in fresh.breakdown("metric_2", "count", "state"))[0]
    questions: list[Callable[[ServingStore], object]] = [
        lambda s: s.timeseries("metric_2", "avg"),
        lambda s: s.timeseries("metric_2", "p90", state=state),
        lambda s: s.timeseries("metric_2", "p50", bucket="day"),
        lambda s: s.timeseries("metric_2", "stddev", band=[1, 2]),
        lambda s: s.breakdown("metric_2", "p99", "region"),
        lambda s: s.breakdown("metric_2", "max", "band"),
        lambda s: s.map_cells("metric_2", "avg"),
        lambda s: s.distribution("metric_2", state=state),
        lambda s: s.overview()["rows_per_hour"],
    ]
    assert [q(followed) for q in questions] == [q(fresh) for q in questions]
    assert followed.overview()["hours"] == 4


def test_a_load_succeeds_when_duckdb_refuses_its_checkpoint(runner, converted) -> None:
    """Compressing after a load only saves memory: DuckDB refuses the checkpoint while another connection has a
    write transaction open (a question begun before a compaction replaced a table), and the load succeeds
    anyway, its publish time taken; the next load's checkpoint compresses what this one left."""
    warehouse, src, lake = converted
    served = ServingStore(warehouse, compact_after_hours=1)
    other = served._connection()
    other.begin()
    other.execute("INSERT INTO serving_quantile_levels VALUES (0.5, 0.9, 0.99)")
    try:
        before = served.version
        assert invoke(runner, "tick", "--warehouse", warehouse, "--out", src).exit_code == 0
        assert invoke(runner, "convert", src, lake, "--warehouse", warehouse).exit_code == 0
        assert served.refresh()
        assert served.version != before
        assert served.seconds_since_publish() is not None
        assert served.seconds_since_publish() < 60
    finally:
        other.rollback()
    assert served.overview()["hours"] == ServingStore(warehouse).overview()["hours"]


def test_the_windows_map_blocks_follow_new_and_forgotten_hours(runner, converted) -> None:
    """The six-hour blocks of the window's map cells are rebuilt for every hour a refresh loads or removes, and
    dropped once they leave the window: a store followed through new and forgotten hours holds the blocks a
    fresh store makes, and answers the same maps."""
    warehouse, src, lake = converted
    followed = ServingStore(warehouse, window_hours=12)

    def cells(store: ServingStore) -> dict[str, list[tuple]]:
        return {
            t: store._db.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("cells_hour", "cells_block")
        }

    def blocks(store: ServingStore) -> list[int]:
        return [h for (h,) in store._db.execute("SELECT DISTINCT hour(t) FROM cells_block ORDER BY 1").fetchall()]

    def agrees_with_a_fresh_store() -> None:
        fresh = ServingStore(warehouse, window_hours=12)
        try:
            assert cells(followed) == cells(fresh)
            for stat in ("avg", "max"):
                assert followed.map_cells(
                    "metric_2", stat, FIRST + timedelta(hours=7), FIRST + timedelta(hours=15)
                ) == (fresh.map_cells("metric_2", stat, FIRST + timedelta(hours=7), FIRST + timedelta(hours=15)))
        finally:
            fresh.close()

    assert invoke(runner, "tick", "--warehouse", warehouse, "--out", src, "--hours", "14").exit_code == 0
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse).exit_code == 0
    assert followed.refresh()
    # Hours 00-15, a window from 04:00: the 00:00 block is not wholly inside it.
    assert blocks(followed) == [6, 12]
    agrees_with_a_fresh_store()
    for hour in (15, 8):  # the newest hour (the window moves back), then one inside a block
        source = (src / f"telemetry_2020-01-01_{hour:02d}.csv").resolve()
        assert invoke(runner, "forget", source, "--warehouse", warehouse).exit_code == 0
        assert followed.refresh()
        agrees_with_a_fresh_store()
    assert blocks(followed) == [6, 12]
    followed.close()


class _AskingWhileCompacting(ServingStore):
    """A store that asks a question at the start of every compaction: after a refresh's commit, while the tables
    are sorted again (seconds on 30 days), which is when a server thread may ask one."""

    asked: list[list[dict[str, Any]]]

    def _compact(self) -> None:
        self.asked.append(self.map_cells("metric_2", "avg", FIRST, FIRST + timedelta(hours=3)))
        super()._compact()


def test_a_question_during_a_refresh_answers_from_the_new_tables_and_manifest_together(runner, converted) -> None:
    """Questions plan from the manifest (its hours, the window) and read the tables: a refresh swaps the manifest
    as it commits the tables, so a question asked while it then compacts sees one state, not the new tables
    with the old window (which read the hour that just left the window from memory, where it no longer is)."""
    warehouse, src, lake = converted
    _AskingWhileCompacting.asked = []
    followed = _AskingWhileCompacting(warehouse, window_hours=2, compact_after_hours=1)
    assert invoke(runner, "tick", "--warehouse", warehouse, "--out", src).exit_code == 0
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse).exit_code == 0
    assert followed.refresh()
    fresh = ServingStore(warehouse, window_hours=2)
    assert followed.asked[-1] == fresh.map_cells("metric_2", "avg", FIRST, FIRST + timedelta(hours=3))
    fresh.close()
    followed.close()


def _plant_unlisted_units(warehouse: Path) -> list[Path]:
    """What a Dask worker killed mid-task leaves: a complete unit nobody listed, and a half-written one."""
    import shutil

    units = warehouse / "rollups" / "units"
    listed = sorted(units.iterdir())[0]
    complete = units / f"{listed.name.rsplit('-', 1)[0]}-0123456789ab"
    shutil.copytree(listed, complete)
    info = json.loads((complete / "unit.json").read_text())
    (complete / "unit.json").write_text(json.dumps({**info, "unit": complete.name}))
    partial = units / f"{listed.name.rsplit('-', 1)[0]}-ba9876543210"
    partial.mkdir()
    (partial / "stats.parquet").write_bytes(b"PAR1")
    return [complete, partial]


@pytest.mark.parametrize("command", ["check", "convert"])
def test_unlisted_units_are_not_problems_and_the_next_check_or_convert_removes_them(runner, converted, command) -> None:
    warehouse, src, lake = converted
    before = rollup_store.read_manifest(Warehouse(warehouse))
    planted = _plant_unlisted_units(warehouse)
    args = ["check"] if command == "check" else ["convert", src, lake]
    result = invoke(runner, *args, "--warehouse", warehouse)
    assert result.exit_code == 0, result.output
    assert not any(p.exists() for p in planted)
    after = rollup_store.read_manifest(Warehouse(warehouse))
    assert after.units == before.units
    assert _unit_dirs(warehouse) == {u.unit for u in before.units}


def test_check_after_a_kill_between_publish_and_done_publishes_the_unit_too(runner, converted) -> None:
    """A kill after the lake files and before the ledger says 'done' leaves the unit written but unlisted; the
    first run to recover it (here `check`, which used to mark the row done and leave the unit unlisted)
    lists it."""
    import shutil

    warehouse, src, _lake = converted
    target = Warehouse(warehouse)
    source = str((src / "telemetry_2020-01-01_01.csv").resolve())
    unit = rollup_store.read_manifest(target).by_source()[source]
    kept = warehouse / "kept-unit"
    shutil.copytree(warehouse / "rollups" / "units" / unit.unit, kept)
    rollup_store.remove_sources(target, [source])
    shutil.copytree(kept, warehouse / "rollups" / "units" / unit.unit)
    with duckdb.connect(str(warehouse / "state.duckdb")) as con:
        con.execute("UPDATE conversions SET status = 'publishing' WHERE source = $s", {"s": source})
    result = invoke(runner, "check", "--warehouse", warehouse)
    assert result.exit_code == 0, result.output
    assert rollup_store.read_manifest(target).by_source()[source] == unit
    with duckdb.connect(str(warehouse / "state.duckdb"), read_only=True) as con:
        assert con.execute("SELECT status FROM conversions WHERE source = $s", {"s": source}).fetchone() == ("done",)


def test_stage_source_puts_the_callers_parquet_setting_back(converted, tmp_path: Path) -> None:
    """stage_source runs in the converter's connection: it may switch the metadata cache on, but only for itself."""
    from duckwifi.rollups.production import stage_source

    _, _, lake = converted
    files = sorted(lake.rglob("date=*/hour=0/**/*.parquet"))
    with duckdb.connect() as con:
        for before in (False, True):
            con.execute(f"SET parquet_metadata_cache = {str(before).lower()}")
            unit = stage_source(con, files, tmp_path / f"unit-{before}", source="s.csv", sha256="0" * 64)
            assert unit is not None
            assert unit.rows == 500
            setting = con.execute("SELECT current_setting('parquet_metadata_cache')").fetchone()
            assert setting == (before,)


def test_an_old_partial_day_is_read_by_subtraction_only_when_fewer_hours_are_read() -> None:
    from duckwifi.serving.library import _plan_edges

    day = datetime(2020, 1, 2)
    old_held = tuple(FIRST + timedelta(hours=h) for h in range(48))  # Jan 1 and Jan 2, both older than the window
    window_start = datetime(2020, 1, 3)
    # Starting at 01:00: the whole day minus one hour rather than 23 hours.
    plan = _plan_edges(
        (day + timedelta(hours=1), day + timedelta(days=2)), old_held, window_start, use_days=True, subtract=True
    )
    assert plan.subtracted == [day]
    assert plan.added == []
    assert plan.runs.days == (day, day + timedelta(days=2))
    # Starting at 20:00: four hours are read, not the day minus twenty.
    plan = _plan_edges(
        (day + timedelta(hours=20), day + timedelta(days=2)), old_held, window_start, use_days=True, subtract=True
    )
    assert plan.subtracted == []
    assert plan.added == [day + timedelta(hours=h) for h in range(20, 24)]
    # Never for min and max, nor by hour, nor for a day that reaches into the window.
    for kwargs in ({"use_days": True, "subtract": False}, {"use_days": False, "subtract": True}):
        plan = _plan_edges((day + timedelta(hours=1), day + timedelta(days=2)), old_held, window_start, **kwargs)
        assert plan.subtracted == []
    plan = _plan_edges(
        (day + timedelta(hours=1), day + timedelta(days=2)),
        old_held,
        day + timedelta(hours=12),
        use_days=True,
        subtract=True,
    )
    assert plan.subtracted == []
    # One day cut at both ends: 02:00-22:00 reads the day minus four hours.
    plan = _plan_edges(
        (day + timedelta(hours=2), day + timedelta(hours=22)), old_held, window_start, use_days=True, subtract=True
    )
    assert plan.subtracted == [day, day + timedelta(hours=1), day + timedelta(hours=22), day + timedelta(hours=23)]
    assert plan.runs.days == (day, day + timedelta(days=1))


def _unit_rows(path: Path) -> list[tuple[object, ...]]:
    with duckdb.connect() as con:
        return con.execute("SELECT * FROM read_parquet($f) ORDER BY ALL", {"f": str(path)}).fetchall()


def test_check_finds_a_damaged_unit_and_repair_rebuilds_it_from_the_lake(runner, converted) -> None:
    """A truncated unit file: serve cannot load the store (one line, exit 17, naming check), check names the
    file, and check --repair rebuilds the source's unit from its lake files, with the rows it had."""
    warehouse, src, _lake = converted
    target = Warehouse(warehouse)
    source = str((src / "telemetry_2020-01-01_00.csv").resolve())
    unit = rollup_store.read_manifest(target).by_source()[source]
    before = {table: _unit_rows(unit.path(target.rollups_dir, table)) for table in rollup_store.TABLES}
    damaged = unit.path(target.rollups_dir, "stats")
    damaged.write_bytes(damaged.read_bytes()[:200])

    with pytest.raises(RollupsDamaged, match="duckwifi check --repair"):
        ServingStore(warehouse)
    served = run_cli("serve", "--warehouse", warehouse, "--port", "0", timeout=60)
    assert served.returncode == ExitCode.LAKE_UNREADABLE, served.stderr
    assert [line for line in served.stderr.splitlines() if "error" in line] == served.stderr.splitlines()[-1:]
    assert "`duckwifi check` names it" in served.stderr

    found = invoke(runner, "check", "--warehouse", warehouse)
    assert found.exit_code == ExitCode.CHECK_FOUND_PROBLEMS, found.output
    assert found.stdout.splitlines() == [
        f"rollup: {damaged.relative_to(warehouse)} (from {source}): not a complete Parquet file (no magic bytes)"
    ]
    repaired = invoke(runner, "check", "--repair", "--warehouse", warehouse)
    assert repaired.exit_code == 0, repaired.output
    assert f"repaired: rebuilt the rollups of {source} from its lake files" in repaired.stderr
    rebuilt = rollup_store.read_manifest(target).by_source()[source]
    assert rebuilt.unit != unit.unit
    assert {table: _unit_rows(rebuilt.path(target.rollups_dir, table)) for table in rollup_store.TABLES} == before
    assert invoke(runner, "check", "--warehouse", warehouse).exit_code == 0
    assert _served_counts(warehouse) == _raw_counts(warehouse)


def test_check_finds_a_damaged_manifest_and_repair_rebuilds_the_store(runner, converted) -> None:
    warehouse, _src, _lake = converted
    target = Warehouse(warehouse)
    sources = set(rollup_store.read_manifest(target).by_source())
    rollup_store.manifest_path(target).write_text("{")
    found = invoke(runner, "check", "--warehouse", warehouse)
    assert found.exit_code == ExitCode.CHECK_FOUND_PROBLEMS, found.output
    assert found.stdout.startswith("rollup: rollups/manifest.json: cannot read")
    repaired = invoke(runner, "check", "--repair", "--warehouse", warehouse)
    assert repaired.exit_code == 0, repaired.output
    assert "repaired: rebuilt the rollup store from the lake" in repaired.stderr
    assert set(rollup_store.read_manifest(target).by_source()) == sources
    assert _served_counts(warehouse) == _raw_counts(warehouse)


def _check_finds_and_repair_mends(runner, warehouse: Path, problems: list[str], repairs: list[str]) -> None:
    """`check` prints exactly ``problems`` (exit 12); `check --repair` says each of ``repairs``; then `check` finds
    nothing and the store answers what the raw lake holds."""
    found = invoke(runner, "check", "--warehouse", warehouse)
    assert found.exit_code == ExitCode.CHECK_FOUND_PROBLEMS, found.output
    assert sorted(found.stdout.splitlines()) == sorted(problems)
    repaired = invoke(runner, "check", "--repair", "--warehouse", warehouse)
    assert repaired.exit_code == 0, repaired.output
    for line in repairs:
        assert f"repaired: {line}" in repaired.stderr
    assert invoke(runner, "check", "--warehouse", warehouse).exit_code == 0
    assert _served_counts(warehouse) == _raw_counts(warehouse)


def test_a_lost_manifest_is_damage_and_no_command_deletes_the_units_it_listed(runner, converted) -> None:
    warehouse, src, lake = converted
    target = Warehouse(warehouse)
    units = _unit_dirs(warehouse)
    path = rollup_store.manifest_path(target)
    path.unlink()
    refused = invoke(runner, "convert", src, lake, "--warehouse", warehouse)
    assert refused.exit_code == ExitCode.CORRUPT, refused.output
    assert "run `duckwifi rollup --rebuild`" in refused.stderr
    lost = f"{path} is missing, but 2 written unit(s) remain under {path.parent / 'units'}"
    found = invoke(runner, "check", "--warehouse", warehouse)
    # Before the fix, a plain check and the convert took every unit for a leftover of a publish cut short.
    assert _unit_dirs(warehouse) == units
    problem = f"rollup: rollups/manifest.json: {lost}; run `duckwifi rollup --rebuild`"
    assert found.stdout.splitlines() == [problem]
    _check_finds_and_repair_mends(runner, warehouse, [problem], ["rebuilt the rollup store from the lake"])


def test_check_finds_a_converted_source_the_manifest_does_not_list(runner, converted) -> None:
    warehouse, _src, _lake = converted
    path = rollup_store.manifest_path(Warehouse(warehouse))
    manifest = json.loads(path.read_text())
    dropped = manifest["units"].pop(0)["source"]
    path.write_text(json.dumps(manifest))
    _check_finds_and_repair_mends(
        runner,
        warehouse,
        [f"rollup: rollups/manifest.json (from {dropped}): lists no unit of this converted source"],
        [f"rebuilt the rollups of {dropped} from its lake files"],
    )


def test_check_finds_a_store_emptied_by_hand_and_repair_rebuilds_it(runner, converted) -> None:
    warehouse, _src, _lake = converted
    import shutil

    shutil.rmtree(warehouse / "rollups")
    _check_finds_and_repair_mends(
        runner,
        warehouse,
        ["rollup: rollups/manifest.json: lists no unit, but the ledger has 2 converted source(s)"],
        ["rebuilt the rollup store from the lake"],
    )


def test_a_first_convert_publishes_an_empty_manifest_before_any_unit(runner, warehouse_dir: Path, tmp_path) -> None:
    # A folder of no CSV still claims the lake: the store starts as an empty manifest, so that a missing one
    # beside written units can only mean it was lost.
    (tmp_path / "none").mkdir()
    result = invoke(runner, "convert", tmp_path / "none", tmp_path / "lake", "--warehouse", warehouse_dir)
    assert result.exit_code == 0, result.output
    manifest = rollup_store.read_manifest(Warehouse(warehouse_dir))
    assert rollup_store.manifest_path(Warehouse(warehouse_dir)).is_file()
    assert manifest.units == ()


def test_a_unit_under_a_path_the_ledger_no_longer_has_is_withdrawn_and_the_source_rebuilt(runner, converted) -> None:
    # What a move cut short between the ledger's record and the manifest's leaves: the unit under the old path.
    warehouse, src, _lake = converted
    path = rollup_store.manifest_path(Warehouse(warehouse))
    manifest = json.loads(path.read_text())
    moved = manifest["units"][0]["source"]
    old = str(src / "gone" / Path(moved).name)
    manifest["units"][0]["source"] = old
    path.write_text(json.dumps(manifest))
    _check_finds_and_repair_mends(
        runner,
        warehouse,
        [
            f"rollup: rollups/manifest.json (from {moved}): lists no unit of this converted source",
            f"rollup: rollups/manifest.json (from {old}): lists a unit of a source the ledger does not have",
        ],
        [
            f"withdrew the rollups of {old}, which the ledger does not have",
            f"rebuilt the rollups of {moved} from its lake files",
        ],
    )
