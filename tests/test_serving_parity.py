"""Every answer of the query library agrees with the same question asked of the raw lake (``telemetry``).

count, min and max exactly; avg and stddev within 1e-9 relative; p50/p90/p99 within the sketch's 2%
relative bound of DuckDB's ``quantile_disc``. Hypothesis draws the questions over a small real lake whose
hours span three days and whose even hours come as one source per region.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from duckwifi.serving import ServingStore
from duckwifi.serving.catalogue import QUANTILES
from duckwifi.serving.library import _read_blocks
from tests.conftest import run_cli
from tests.rollup_lake import (
    SmallLake,
    assert_distribution_matches_raw,
    assert_map_matches_raw,
    build,
    close_enough,
    raw,
    raw_expression,
    raw_where,
)

FIRST = datetime(2020, 1, 1, 22)
HOURS = 28
STATES_IN_FLEET = ["CA", "TX", "NY", "FL", "DC", "RI", "WY", "MT", "IL", "GA"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> SmallLake:
    return build(tmp_path_factory.mktemp("parity"), hours=HOURS)


@pytest.fixture(scope="module")
def store(lake: SmallLake) -> ServingStore:
    # A narrow hourly window, so that answers also come from the hours read from unit files.
    return ServingStore(lake.warehouse, window_hours=6, sketch_window_hours=6)


@pytest.fixture(scope="module")
def raw_con(lake: SmallLake) -> duckdb.DuckDBPyConnection:
    return raw(lake.warehouse)


hours = st.integers(-2, HOURS + 2).map(lambda k: FIRST + timedelta(hours=k))
ranges = st.tuples(hours, hours).map(sorted)
metrics = st.sampled_from([f"metric_{k}" for k in (1, 2, 7, 13, 20)])
stats = st.sampled_from(["count", "avg", "min", "max", "stddev", "p50", "p90", "p99"])
regions = st.lists(st.sampled_from(["Midwest", "Northeast", "South", "West"]), max_size=2, unique=True)
states = st.lists(st.sampled_from(STATES_IN_FLEET), max_size=3, unique=True)
bands = st.lists(st.integers(1, 10), max_size=3, unique=True)


@given(
    metric=metrics,
    stat=stats,
    span=ranges,
    bucket=st.sampled_from(["hour", "day"]),
    region=regions,
    state=states,
    band=bands,
)
def test_timeseries_matches_raw(store, raw_con, metric, stat, span, bucket, region, state, band) -> None:
    start, end = span
    if stat in QUANTILES:
        band = []
    got = store.timeseries(metric, stat, start, end, bucket=bucket, region=region, state=state, band=band)
    where, params = raw_where(start, end, region, state, band)
    want = raw_con.execute(
        f"SELECT date_trunc('{bucket}', datetime) AS t, {raw_expression(metric, stat)}, count(*) "
        f"FROM telemetry WHERE {where} GROUP BY t ORDER BY t",
        params,
    ).fetchall()
    assert [p["time"] for p in got] == [w[0] for w in want]
    assert [p["count"] for p in got] == [w[2] for w in want]
    for point, (_, value, _) in zip(got, want, strict=True):
        assert close_enough(stat, point["value"], value), (point, value)


@given(
    metric=metrics,
    stat=stats,
    span=ranges,
    by=st.sampled_from(["region", "state", "band"]),
    region=regions,
    state=states,
    band=bands,
)
def test_breakdown_matches_raw(store, raw_con, metric, stat, span, by, region, state, band) -> None:
    start, end = span
    if stat in QUANTILES:
        band = []
        if by == "band":
            by = "state"
    got = store.breakdown(metric, stat, by=by, start=start, end=end, region=region, state=state, band=band, limit=1000)
    where, params = raw_where(start, end, region, state, band)
    want = raw_con.execute(
        f"SELECT CAST({by} AS VARCHAR) AS k, {raw_expression(metric, stat)}, count(*) "
        f"FROM telemetry WHERE {where} GROUP BY k",
        params,
    ).fetchall()
    assert sorted(r["key"] for r in got) == sorted(w[0] for w in want)
    by_key = {r["key"]: r for r in got}
    for key, value, count in want:
        assert by_key[key]["count"] == count
        assert close_enough(stat, by_key[key]["value"], value), (key, by_key[key], value)
    values = [r["value"] for r in got if r["value"] is not None]
    assert values == sorted(values, reverse=True)


@given(
    metric=metrics,
    stat=st.sampled_from(["count", "avg", "min", "max"]),
    region=regions,
    state=states,
    first=st.integers(0, HOURS),
    length=st.sampled_from([0, 1, 3, 24, 30]),
)
def test_map_matches_raw(store, raw_con, metric, stat, region, state, first, length) -> None:
    start = FIRST + timedelta(hours=first)
    end = min(start + timedelta(hours=length), FIRST + timedelta(hours=HOURS))
    if end < start:
        end = start
    got = store.map_cells(metric, stat, start, end, region=region, state=state)
    assert_map_matches_raw(raw_con, got, metric, stat, start, end, region, state)


@given(metric=metrics, span=ranges, region=regions, state=states)
def test_distribution_matches_raw(store, raw_con, metric, span, region, state) -> None:
    start, end = span
    assert_distribution_matches_raw(store, raw_con, metric, start, end, region, state)


def test_overview_counts_every_raw_row_per_hour(store, raw_con) -> None:
    overview = store.overview()
    want = raw_con.execute(
        "SELECT date_trunc('hour', datetime) AS t, count(*) FROM telemetry GROUP BY t ORDER BY t"
    ).fetchall()
    assert [(r["time"], r["rows"]) for r in overview["rows_per_hour"]] == want
    assert overview["first_hour"] == FIRST
    assert overview["last_hour"] == FIRST + timedelta(hours=HOURS - 1)
    assert overview["hours"] == HOURS
    assert overview["last_hour_rows"] == want[-1][1]


def test_default_range_is_all_data(store) -> None:
    assert store.timeseries("metric_1", "count") == store.timeseries(
        "metric_1", "count", FIRST, FIRST + timedelta(hours=HOURS)
    )


def test_several_sources_of_one_hour_merge(lake: SmallLake, store) -> None:
    # Even hours came as one source per region: the hour's count is the whole fleet's.
    split_hour = store.timeseries("metric_1", "count", FIRST, FIRST + timedelta(hours=1))
    assert split_hour[0]["count"] == 300
    assert len(list(lake.src.glob("*_00_*.csv"))) > 1 or len(list(lake.src.glob("*22_*.csv"))) > 1


def test_band_quantiles_are_refused_with_a_message(store) -> None:
    from duckwifi.errors import QueryNotServed

    with pytest.raises(QueryNotServed) as caught:
        store.timeseries("metric_1", "p99", band=3)
    assert caught.value.parameter == "band"


def test_rebuild_answers_exactly_what_convert_answered(lake: SmallLake, store, tmp_path: Path) -> None:
    questions = [
        ("timeseries", ("metric_7", "p90"), {"bucket": "day"}),
        ("timeseries", ("metric_7", "stddev"), {"state": ["CA", "TX"]}),
        ("breakdown", ("metric_2", "avg"), {"by": "band"}),
        ("breakdown", ("metric_2", "p99"), {"by": "state"}),
        ("map_cells", ("metric_13", "max"), {}),
        ("distribution", ("metric_20",), {"region": "West"}),
        ("overview", (), {}),
    ]
    before = [getattr(store, name)(*args, **kwargs) for name, args, kwargs in questions]
    old_version = store.version
    result = run_cli("rollup", "--rebuild", "--warehouse", lake.warehouse)
    assert result.returncode == 0, result.stderr
    assert store.refresh()
    assert store.version != old_version
    after = [getattr(store, name)(*args, **kwargs) for name, args, kwargs in questions]
    before[-1].pop("version")
    after[-1].pop("version")
    assert after == before


def test_partial_old_days_read_as_the_whole_day_minus_the_other_hours(lake: SmallLake) -> None:
    """A partial day older than the hourly window is read as its day minus the few hours outside the range
    (counts and sums subtract exactly): the answers equal those of a store holding every hour in memory."""
    # A one-hour window: Jan 2 is a whole day older than it, and only Jan 3 01:00 is held by hour in memory.
    narrow = ServingStore(lake.warehouse, window_hours=1, sketch_window_hours=1)
    wide = ServingStore(lake.warehouse, window_hours=HOURS)
    jan2 = datetime(2020, 1, 2)
    ranges = [
        (jan2 + timedelta(hours=2), jan2 + timedelta(hours=26)),  # leading partial day: 22 in, 2 out
        (jan2 + timedelta(hours=3), jan2 + timedelta(hours=20)),  # one day cut at both ends: 17 in, 7 out
        (FIRST + timedelta(hours=1), jan2 + timedelta(hours=21)),  # trailing partial day: 21 in, 3 out
    ]
    for start, end in ranges:
        plan = narrow._plan((start, end), use_days=True, subtract=True)
        assert plan.subtracted, (start, end)
        # Only counts and sums subtract: the map's min and max read the hours of the range.
        assert not narrow._plan((start, end), use_days=True, subtract=False).subtracted
        questions = [
            ("map_cells", ("metric_3", "avg", start, end), {}),
            ("map_cells", ("metric_3", "count", start, end), {"state": ["CA", "TX"]}),
            ("map_cells", ("metric_3", "max", start, end), {}),
            ("breakdown", ("metric_5", "p99", "state", start, end), {}),
            ("breakdown", ("metric_5", "p50", "region", start, end), {"state": ["CA", "NY", "TX"]}),
            ("distribution", ("metric_8", start, end), {"state": ["CA", "TX"]}),
            ("timeseries", ("metric_8", "p90", start, end), {"bucket": "day", "state": ["CA", "TX"]}),
            ("timeseries", ("metric_8", "p90", start, end), {"state": ["CA", "TX"]}),
        ]
        for name, args, kwargs in questions:
            got = getattr(narrow, name)(*args, **kwargs)
            assert got, (name, args, kwargs)
            assert got == getattr(wide, name)(*args, **kwargs), (name, args, kwargs)
    narrow.close()
    wide.close()


@pytest.fixture(scope="module")
def wide(lake: SmallLake) -> ServingStore:
    # Every hour in memory: maps inside the window read its six-hour blocks.
    return ServingStore(lake.warehouse, window_hours=HOURS)


@given(
    metric=metrics,
    stat=st.sampled_from(["count", "avg", "min", "max"]),
    span=ranges,
    region=regions,
    state=states,
)
def test_maps_read_from_the_windows_blocks_match_raw(wide, raw_con, metric, stat, span, region, state) -> None:
    start, end = span
    got = wide.map_cells(metric, stat, start, end, region=region, state=state)
    assert_map_matches_raw(raw_con, got, metric, stat, start, end, region, state)


@pytest.mark.parametrize(
    ("start", "end", "subtract", "hours", "blocks", "minus"),
    [
        # 24 hours from 02:00: the day's four blocks minus 00:00 and 01:00, and the next day's first hours.
        (
            "2020-01-02T02",
            "2020-01-03T02",
            True,
            [("2020-01-03T00", "2020-01-03T02")],
            [("2020-01-02T00", "2020-01-03T00")],
            [("2020-01-02T00", "2020-01-02T02")],
        ),
        # From 13:00 (the live dashboard's range): the 12:00 block minus 12:00.
        (
            "2020-01-02T13",
            "2020-01-03T01",
            True,
            [("2020-01-03T00", "2020-01-03T01")],
            [("2020-01-02T12", "2020-01-03T00")],
            [("2020-01-02T12", "2020-01-02T13")],
        ),
        # min and max do not subtract: the hours up to the first block, and after the last.
        (
            "2020-01-02T13",
            "2020-01-03T01",
            False,
            [("2020-01-02T13", "2020-01-02T18"), ("2020-01-03T00", "2020-01-03T01")],
            [("2020-01-02T18", "2020-01-03T00")],
            [],
        ),
        # Cut at both ends inside one day: 03:00 to 06:00 by hour (three hours beat a block minus three).
        (
            "2020-01-02T03",
            "2020-01-02T20",
            True,
            [("2020-01-02T03", "2020-01-02T06"), ("2020-01-02T18", "2020-01-02T20")],
            [("2020-01-02T06", "2020-01-02T18")],
            [],
        ),
        # The 18:00 block of Jan 1 is not wholly in the window (it opens at 22:00): hours until the next block.
        (
            "2020-01-01T23",
            "2020-01-02T07",
            True,
            [("2020-01-01T23", "2020-01-02T00"), ("2020-01-02T06", "2020-01-02T07")],
            [("2020-01-02T00", "2020-01-02T06")],
            [],
        ),
        # Too short for a whole block: hours only.
        ("2020-01-02T13", "2020-01-02T15", True, [("2020-01-02T13", "2020-01-02T15")], [], []),
    ],
)
def test_a_map_inside_the_window_reads_six_hour_blocks(
    wide, raw_con, start, end, subtract, hours, blocks, minus
) -> None:
    """Inside the hourly window a map reads its range's whole six-hour blocks and only the hours at the ends,
    subtracting a block's hours outside the range (count and avg) when that reads fewer rows."""

    def runs(pairs: list[tuple[str, str]]) -> set[tuple[datetime, datetime]]:
        return {(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in pairs}

    span = (datetime.fromisoformat(start), datetime.fromisoformat(end))
    plan = _read_blocks(wide._plan(span, use_days=True, subtract=subtract), wide._window_start(), subtract=subtract)
    assert {r for r in (plan.runs.h1, plan.runs.h2) if r[0] < r[1]} == runs(hours)
    assert {r for r in plan.blocks if r[0] < r[1]} == runs(blocks)
    assert {r for r in plan.minus if r[0] < r[1]} == runs(minus)
    assert not plan.reads_edges
    stats = ["count", "avg"] if subtract else ["min", "max"]
    for stat, state in [(stats[0], []), (stats[1], []), (stats[1], ["CA", "TX"])]:
        got = wide.map_cells("metric_4", stat, *span, state=state)
        assert got
        assert_map_matches_raw(raw_con, got, "metric_4", stat, *span, [], state)


def test_state_quantiles_of_a_partial_recent_day_subtract_the_other_hours_in_memory(wide, raw_con) -> None:
    """State-level hourly sketches are in memory for the window: a range from 02:00 of a day in it reads the
    day's sketches minus two hours."""
    jan2 = datetime(2020, 1, 2)
    for start, end in [
        (jan2 + timedelta(hours=2), jan2 + timedelta(hours=26)),
        (jan2 + timedelta(hours=3), jan2 + timedelta(hours=20)),
    ]:
        plan = wide._prepare_sketch_edge(4, 2, (start, end), True)
        assert plan.minus[0][0] == jan2, plan
        assert not plan.reads_edges
        for state in ([], ["CA", "TX"]):
            assert_distribution_matches_raw(wide, raw_con, "metric_4", start, end, [], state)


def test_quantiles_of_a_partial_day_subtract_the_other_hours_in_memory(lake: SmallLake, store, raw_con) -> None:
    """National and regional sketches are in memory for every hour: a range starting at 03:00 reads the whole
    day minus three hours, and its answers still agree with the raw lake."""
    start, end = datetime(2020, 1, 2, 3), datetime(2020, 1, 3, 2)
    # The state level's minus path is covered above; here the nation and a region.
    plan = store._prepare_sketch_edge(1, 0, (start, end), True)
    assert plan.minus[0] == (datetime(2020, 1, 2), start), plan
    for region in ([], ["West"]):
        assert_distribution_matches_raw(store, raw_con, "metric_6", start, end, region, [])
    got = store.breakdown("metric_6", "p90", "region", start, end)
    where, params = raw_where(start, end, [], [], [])
    want = dict(
        raw_con.execute(
            f"SELECT region, quantile_disc(metric_6, 0.9) FROM telemetry WHERE {where} GROUP BY region", params
        ).fetchall()
    )
    assert {r["key"] for r in got} == set(want)
    for row in got:
        assert close_enough("p90", row["value"], want[row["key"]]), row


def _state_sketch_rows(served: ServingStore) -> list[tuple[object, ...]]:
    return served._connection().execute("SELECT * FROM sketch_hour WHERE level = 2 ORDER BY ALL").fetchall()


def test_a_rebuilt_store_fills_its_sketch_window_again_a_day_at_a_time(lake: SmallLake, tmp_path: Path) -> None:
    """A publish that changes more than a day's hours of the sketch window older than the recent window
    (`rollup --rebuild`: 27 of them here) does not merge them all in its transaction: they are dropped and
    filled again, a day at a time, as after a first load."""
    copy = tmp_path / "wh"
    shutil.copytree(lake.warehouse, copy)
    with ServingStore(copy, window_hours=1) as served:
        assert served.filled
        result = run_cli("rollup", "--rebuild", "--warehouse", copy)
        assert result.returncode == 0, result.stderr
        assert served.refresh()
        assert not served.filled
        served.fill()
        with ServingStore(copy, window_hours=1) as fresh:
            assert _state_sketch_rows(served) == _state_sketch_rows(fresh)
            span = (FIRST + timedelta(hours=3), FIRST + timedelta(hours=HOURS - 2))
            asked = ("metric_4", "p99", "state", *span)
            assert served.breakdown(*asked) == fresh.breakdown(*asked)
