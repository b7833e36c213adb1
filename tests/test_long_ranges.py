"""Ranges of many days agree with the raw lake: across a day without rows, starting or ending on it, and after
a source of a day in the middle of the store is forgotten and converted again (each refresh re-merges only
the days that changed).

The lake holds three hours of each of seven days but the fourth, which has none. Hours at 00:00 come as one
source per region.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duckwifi.errors import RollupsDamaged
from duckwifi.serving import ServingStore
from duckwifi.serving.library import DEFAULT_SKETCH_WINDOW_HOURS
from tests.conftest import run_cli
from tests.rollup_lake import (
    SmallLake,
    assert_distribution_matches_raw,
    assert_map_matches_raw,
    build,
    close_enough,
    raw,
    raw_where,
)

FIRST = datetime(2020, 1, 1)
DAYS = 7
EMPTY_DAY = 3
HOURS_OF_A_DAY = (0, 9, 17)
KEPT = {24 * day + hour for day in range(DAYS) if day != EMPTY_DAY for hour in HOURS_OF_A_DAY}
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

# Runs of several whole days: across the empty day, starting or ending on it, starting on the first day, and
# with partial days at both ends; and ranges without data.
LONG_RANGES = [
    (FIRST, FIRST + DAYS * DAY),
    (FIRST + DAY, FIRST + 4 * DAY),
    (FIRST + EMPTY_DAY * DAY, FIRST + 6 * DAY),
    (FIRST + 4 * DAY, FIRST + DAYS * DAY),
    (FIRST + timedelta(hours=5), FIRST + 6 * DAY + timedelta(hours=10)),
    (FIRST + DAY + timedelta(hours=9), FIRST + 5 * DAY + timedelta(hours=17)),
    # No hour of the store: the empty day, and the hours between two kept ones.
    (FIRST + EMPTY_DAY * DAY, FIRST + (EMPTY_DAY + 1) * DAY),
    (FIRST + timedelta(hours=1), FIRST + timedelta(hours=9)),
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> SmallLake:
    return build(tmp_path_factory.mktemp("long"), devices=200, hours=24 * DAYS, start="2020-01-01 00:00:00", kept=KEPT)


# A narrow hourly window for maps; for state-level sketches the same (old partial days' hours come from the
# units' files), three days (the older ones' from files), or the default 31 days (every hour from memory).
SKETCH_WINDOWS = [6, 72, DEFAULT_SKETCH_WINDOW_HOURS]


@pytest.fixture(params=SKETCH_WINDOWS, ids=lambda hours: f"sketch-window-{hours}h")
def store(lake: SmallLake, request: pytest.FixtureRequest) -> Iterator[ServingStore]:
    served = ServingStore(lake.warehouse, window_hours=6, sketch_window_hours=request.param)
    yield served
    served.close()


def _assert_answers_match_raw(served: ServingStore, raw_con: duckdb.DuckDBPyConnection, start, end) -> None:
    for metric, stat, by, state in [
        ("metric_4", "p99", "state", []),
        ("metric_4", "p50", "region", []),
        ("metric_9", "p90", "state", ["CA", "TX", "NY"]),
    ]:
        got = {r["key"]: r for r in served.breakdown(metric, stat, by, start, end, state=state, limit=1000)}
        where, params = raw_where(start, end, [], state, [])
        want = raw_con.execute(
            f"SELECT {by}, quantile_disc({metric}, {dict(p50=0.5, p90=0.9, p99=0.99)[stat]}), count(*) "
            f"FROM telemetry WHERE {where} GROUP BY {by}",
            params,
        ).fetchall()
        assert sorted(got) == sorted(k for k, _, _ in want), (start, end, stat, by)
        for key, value, count in want:
            assert got[key]["count"] == count
            assert close_enough(stat, got[key]["value"], value), (start, end, stat, key, got[key], value)
    for region, state in [([], []), (["West"], []), ([], ["CA", "TX"])]:
        assert_distribution_matches_raw(served, raw_con, "metric_6", start, end, region, state)
    for stat, state in [("count", []), ("avg", []), ("avg", ["CA", "TX"]), ("max", [])]:
        got_cells = served.map_cells("metric_2", stat, start, end, state=state)
        assert_map_matches_raw(raw_con, got_cells, "metric_2", stat, start, end, [], state)
    # A series by day merges each day's own sketches.
    days = served.timeseries("metric_5", "p90", start, end, bucket="day", state=["CA", "TX"])
    where, params = raw_where(start, end, [], ["CA", "TX"], [])
    want_days = raw_con.execute(
        f"SELECT date_trunc('day', datetime) AS d, quantile_disc(metric_5, 0.9), count(*) FROM telemetry "
        f"WHERE {where} GROUP BY d ORDER BY d",
        params,
    ).fetchall()
    assert [(p["time"], p["count"]) for p in days] == [(d, n) for d, _, n in want_days]


@pytest.mark.parametrize(("start", "end"), LONG_RANGES)
def test_long_runs_of_days_agree_with_the_raw_lake(lake: SmallLake, store: ServingStore, start, end) -> None:
    with raw(lake.warehouse) as raw_con:
        _assert_answers_match_raw(store, raw_con, start, end)


hours = st.integers(0, 24 * DAYS).map(lambda k: FIRST + timedelta(hours=k))


@pytest.mark.slow
@pytest.mark.parametrize("sketch_window", SKETCH_WINDOWS)
@settings(max_examples=15, deadline=None)
@given(span=st.tuples(hours, hours).map(sorted))
def test_any_range_agrees_with_the_raw_lake(lake: SmallLake, sketch_window: int, span: list[datetime]) -> None:
    start, end = span
    served = ServingStore(lake.warehouse, window_hours=6, sketch_window_hours=sketch_window)
    with served, raw(lake.warehouse) as raw_con:
        _assert_answers_match_raw(served, raw_con, start, end)


def _state_sketch_rows(served: ServingStore) -> list[tuple[object, ...]]:
    return served._connection().execute("SELECT * FROM sketch_hour WHERE level = 2 ORDER BY ALL").fetchall()


def test_the_sketch_window_fills_a_day_per_refresh_and_no_answer_changes(lake: SmallLake) -> None:
    """A store that does not fill its sketch window when it loads (as `serve` starts) holds the state-level
    hourly sketches of its recent window only, and reads older hours from unit files; each refresh then loads
    one more day. Every answer is the same at every step, and at the end it holds what a filled store holds."""
    partial_days = [LONG_RANGES[4], LONG_RANGES[5]]
    questions = [
        *(lambda s, r=r: s.breakdown("metric_4", "p99", "state", *r, limit=1000) for r in partial_days),
        *(lambda s, r=r: s.distribution("metric_6", *r, state=["CA", "TX"]) for r in partial_days),
        lambda s: s.timeseries("metric_5", "p90", *LONG_RANGES[5], bucket="hour", state=["CA", "TX"]),
    ]
    with (
        ServingStore(lake.warehouse, window_hours=6, fill=False) as filling,
        ServingStore(lake.warehouse, window_hours=6) as filled,
    ):
        want = [q(filled) for q in questions]
        assert not filled._sketch_plan(LONG_RANGES[4], use_days=True).reads_edges
        assert filling._sketch_plan(LONG_RANGES[4], use_days=True).reads_edges
        steps = 0
        while filling._sketches_from > filled._sketches_from:
            assert [q(filling) for q in questions] == want
            assert filling.refresh() is False  # nothing new published: the version is the same
            steps += 1
        # The load's own refresh filled the newest day's hours before the window; one refresh each for the six
        # days before it (the empty one included).
        assert steps == DAYS - 1
        assert [q(filling) for q in questions] == want
        assert not filling._sketch_plan(LONG_RANGES[4], use_days=True).reads_edges
        assert _state_sketch_rows(filling) == _state_sketch_rows(filled)


def test_a_damaged_unit_stops_the_fill_at_its_day_and_the_store_serves_on(lake: SmallLake, tmp_path: Path) -> None:
    """A unit file that cannot be read stops the filling of the sketch window at its day, once (not tried again
    on every refresh of the same version): the store loads and answers; a question over that day's hours says
    what is damaged, as it would have without the fill."""
    copy = tmp_path / "wh"
    shutil.copytree(lake.warehouse, copy)
    damaged_hour = FIRST + DAY + timedelta(hours=9)
    with ServingStore(copy, window_hours=6, fill=False) as served:
        (unit,) = [u for u in served._manifest.units if damaged_hour in u.hours]
        sketch = unit.path(copy / "rollups", "sketch")
        sketch.write_bytes(sketch.read_bytes()[:100])
        served.fill()
        assert not served.filled
        assert not served.filling
        assert served._sketches_from == FIRST + 2 * DAY
        assert served.refresh() is False
        assert served._sketches_from == FIRST + 2 * DAY
        newer = (FIRST + 4 * DAY + timedelta(hours=5), FIRST + 6 * DAY)
        with ServingStore(lake.warehouse, window_hours=6) as reference:
            assert served.breakdown("metric_4", "p99", "state", *newer) == reference.breakdown(
                "metric_4", "p99", "state", *newer
            )
        with pytest.raises(RollupsDamaged) as refused:
            served.breakdown("metric_4", "p99", "state", damaged_hour - timedelta(hours=1), damaged_hour + HOUR)
        assert str(sketch) in str(refused.value)


def test_state_sketches_older_than_the_sketch_window_are_not_kept(lake: SmallLake) -> None:
    with ServingStore(lake.warehouse, window_hours=6, sketch_window_hours=48) as served:
        newest = served.overview()["last_hour"]
        held = {row[1] for row in _state_sketch_rows(served)}
        assert held
        assert min(held) >= newest + timedelta(hours=1) - timedelta(hours=48)
        assert min(held) < newest + timedelta(hours=1) - timedelta(hours=6)


def _sources_of_day(lake: SmallLake, day: int) -> list[Path]:
    stamp = (FIRST + day * DAY).strftime("%Y-%m-%d")
    return sorted(p for p in lake.src.glob("*.csv") if stamp in p.name)


def test_a_changed_day_in_the_middle_is_followed(lake: SmallLake, store: ServingStore) -> None:
    """Forgetting one source of day 1, then every source of day 2, then converting them again: after each
    refresh every long range still agrees with the raw lake, and with a store loaded afresh."""
    one_source = _sources_of_day(lake, 1)[0]
    whole_day = _sources_of_day(lake, 2)
    assert whole_day
    steps = [[one_source], whole_day]
    for forgotten in steps:
        for source in forgotten:
            result = run_cli("forget", source, "--warehouse", lake.warehouse)
            assert result.returncode == 0, result.stderr
        assert store.refresh()
        with raw(lake.warehouse) as raw_con:
            for start, end in LONG_RANGES[:3]:
                _assert_answers_match_raw(store, raw_con, start, end)
    result = run_cli("convert", lake.src, lake.lake, "--warehouse", lake.warehouse)
    assert result.returncode == 0, result.stderr
    assert store.refresh()
    with raw(lake.warehouse) as raw_con:
        for start, end in LONG_RANGES:
            _assert_answers_match_raw(store, raw_con, start, end)
    # The running totals of every held day are the sum of the day sketches up to it, after every change.
    assert _running_totals(store) == _summed_days(store)
    # The same as a store loaded afresh.
    with ServingStore(lake.warehouse, window_hours=6, sketch_window_hours=6) as fresh:
        for start, end in LONG_RANGES:
            assert store.distribution("metric_6", start, end) == fresh.distribution("metric_6", start, end)
            assert store.map_cells("metric_2", "avg", start, end) == fresh.map_cells("metric_2", "avg", start, end)


def _running_totals(served: ServingStore) -> list[tuple[object, ...]]:
    return (
        served._connection()
        .execute("SELECT t, state::VARCHAR, metric, bucket, n FROM sketch_running WHERE n <> 0 ORDER BY ALL")
        .fetchall()
    )


def _summed_days(served: ServingStore) -> list[tuple[object, ...]]:
    return (
        served._connection()
        .execute(
            "SELECT r.t, d.state::VARCHAR, d.metric, d.bucket, sum(d.n) AS n FROM sketch_day AS d "
            "JOIN (SELECT DISTINCT t FROM sketch_running) AS r ON d.t <= r.t WHERE d.level = 2 "
            "GROUP BY ALL HAVING sum(d.n) <> 0 ORDER BY ALL"
        )
        .fetchall()
    )


def test_a_long_state_quantile_reads_two_days_of_running_totals(lake: SmallLake) -> None:
    """A state quantile over three whole days or more merges the running totals of its last day minus the day
    before its first, not each day: with the state-level day sketches gone it answers the same; a series by
    day, whose groups are the days, and a two-day range still read the days."""
    with ServingStore(lake.warehouse, window_hours=6) as served:
        assert _running_totals(served) == _summed_days(served)
        long_range, two_days = (FIRST + timedelta(hours=5), FIRST + 6 * DAY), (FIRST + DAY, FIRST + 3 * DAY)
        answers = [
            served.breakdown("metric_4", "p99", "state", *long_range, limit=1000),
            served.distribution("metric_6", *long_range, state=["CA", "TX"]),
        ]
        by_day = served.timeseries("metric_5", "p90", *long_range, bucket="day", state=["CA", "TX"])
        short = served.breakdown("metric_4", "p50", "state", *two_days, limit=1000)
        served._connection().execute("DELETE FROM sketch_day WHERE level = 2")
        assert [
            served.breakdown("metric_4", "p99", "state", *long_range, limit=1000),
            served.distribution("metric_6", *long_range, state=["CA", "TX"]),
        ] == answers
        assert served.timeseries("metric_5", "p90", *long_range, bucket="day", state=["CA", "TX"]) != by_day
        assert served.breakdown("metric_4", "p50", "state", *two_days, limit=1000) != short


def test_the_next_question_over_the_same_range_reads_no_unit_file(lake: SmallLake, tmp_path: Path) -> None:
    """Hours older than the window come from the units' files into the cursor's edge table: the next question
    on the metric over the same range (another quantile or state filter, a distribution beside a breakdown)
    reads no file; another metric, or another range, reads its own hours."""
    copy = tmp_path / "wh"
    shutil.copytree(lake.warehouse, copy)
    start, end = FIRST + timedelta(hours=5), FIRST + 6 * DAY
    with (
        ServingStore(copy, window_hours=6, sketch_window_hours=6) as served,
        ServingStore(lake.warehouse, window_hours=6, sketch_window_hours=6) as reference,
    ):
        assert served._sketch_plan((start, end), use_days=True).reads_edges
        first = ("metric_4", "p99", "state", start, end)
        assert served.breakdown(*first) == reference.breakdown(*first)
        for table in (copy / "rollups" / "units").glob("*/sketch.parquet"):
            table.unlink()
        again = ("metric_4", "p50", "state", start, end)
        assert served.breakdown(*again, state=["CA", "TX"]) == reference.breakdown(*again, state=["CA", "TX"])
        assert served.distribution("metric_4", start, end, state="NY") == reference.distribution(
            "metric_4", start, end, state="NY"
        )
        for other_metric_or_range in [("metric_5", start, end), ("metric_4", start + timedelta(hours=5), end)]:
            with pytest.raises(RollupsDamaged):
                served.distribution(*other_metric_or_range, state="NY")


def test_an_edge_merged_per_day_is_not_reused_by_hour(lake: SmallLake) -> None:
    """A question that reads whole days merges its old hours per day as they load; a by-hour question over the
    very same hours on the same cursor reads them again, hour by hour, rather than take that day's rows."""
    start, end = FIRST + DAY + timedelta(hours=5), FIRST + DAY + timedelta(hours=10)
    states = ["CA", "TX"]
    with (
        ServingStore(lake.warehouse, window_hours=6, sketch_window_hours=6) as served,
        ServingStore(lake.warehouse, window_hours=6, sketch_window_hours=6) as fresh,
    ):
        by_day = served._sketch_plan((start, end), use_days=True)
        by_hour = served._sketch_plan((start, end), use_days=False)
        assert by_day.added == by_hour.added == [FIRST + DAY + timedelta(hours=9)]
        days = served.timeseries("metric_5", "p90", start, end, bucket="day", state=states)
        assert [p["time"] for p in days] == [FIRST + DAY]
        hours = served.timeseries("metric_5", "p90", start, end, bucket="hour", state=states)
        assert [p["time"] for p in hours] == [FIRST + DAY + timedelta(hours=9)]
        assert hours == fresh.timeseries("metric_5", "p90", start, end, bucket="hour", state=states)


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
def test_a_damaged_unit_of_an_old_hour_is_a_named_error(lake: SmallLake, tmp_path: Path, damage: str) -> None:
    """A question that reads hours older than the window from a unit file that was damaged (or deleted) after
    the store loaded: RollupsDamaged naming the file and `duckwifi check --repair`, not DuckDB's bare error."""
    copy = tmp_path / "wh"
    shutil.copytree(lake.warehouse, copy)
    start, end = FIRST + DAY + timedelta(hours=5), FIRST + DAY + timedelta(hours=10)
    with ServingStore(copy, window_hours=6, sketch_window_hours=6) as served:
        (unit,) = [u for u in served._manifest.units if FIRST + DAY + timedelta(hours=9) in u.hours]
        sketch = unit.path(copy / "rollups", "sketch")
        if damage == "truncated":
            sketch.write_bytes(sketch.read_bytes()[:100])
        else:
            sketch.unlink()
        with pytest.raises(RollupsDamaged) as refused:
            served.breakdown("metric_4", "p99", "state", start, end)
        assert str(sketch) in str(refused.value)
        assert str(refused.value).endswith("`duckwifi check --repair` rebuilds them")
