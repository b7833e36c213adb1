"""The numpy ranking of a quantile question (duckwifi/serving/ranking.py) against the SQL macro the store
uses when it loads hours and days (serving_quantiles): the same buckets give the same quantiles and counts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from duckwifi.serving.catalogue import QUANTILES
from duckwifi.serving.ranking import BucketValues, group_starts, histogram, pick_quantiles, quantile_rows
from duckwifi.serving.schema import create_serving_schema

LEVELS = list(QUANTILES.values())

# A group's buckets: distinct keys (negative, zero and positive values, as the sketch keys them) with positive
# counts, some large enough that ceil(q n) is computed on big totals.
buckets = st.dictionaries(
    st.one_of(st.integers(-2300, -1800), st.just(0), st.integers(1800, 2300)),
    st.one_of(st.integers(1, 5), st.integers(1, 20_000_000)),
    min_size=1,
    max_size=40,
)
# Groups keyed as the questions key them: by time, by place, or not at all (NULL keys).
group_keys = st.tuples(
    st.one_of(st.none(), st.integers(0, 50).map(lambda h: datetime(2020, 1, 1) + timedelta(hours=h))),
    st.one_of(st.none(), st.sampled_from(["TX", "CA", "NY", "West", "South"])),
)


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    create_serving_schema(connection)
    yield connection
    connection.close()


def _by_macro(con: duckdb.DuckDBPyConnection, rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ranked_input (metric TINYINT, level TINYINT, t TIMESTAMP, region VARCHAR,"
        " state VARCHAR, bucket SMALLINT, n BIGINT)"
    )
    con.executemany("INSERT INTO ranked_input VALUES (1, 0, ?, ?, NULL, ?, ?)", rows)
    return con.execute(
        "SELECT t, region, p50, p90, p99, n FROM serving_quantiles('ranked_input') ORDER BY t, region"
    ).fetchall()


def _by_numpy(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    # The columns as sketch_merge.sql gives them: ordered by group and bucket.
    merged = con.execute(
        "SELECT t AS time_key, region AS text_key, bucket, n FROM ranked_input ORDER BY t, region, bucket"
    ).fetchnumpy()
    return quantile_rows(merged, LEVELS, BucketValues.read(con))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(group_keys, buckets, min_size=1, max_size=6))
def test_numpy_ranking_matches_the_sql_macro(con: duckdb.DuckDBPyConnection, groups) -> None:
    rows = [(t, place, bucket, n) for (t, place), counts in groups.items() for bucket, n in counts.items()]
    by_macro = _by_macro(con, rows)
    by_numpy = _by_numpy(con)
    assert by_numpy == by_macro
    assert sum(row[5] for row in by_numpy) == sum(n for *_, n in rows)


def test_no_buckets_no_rows(con: duckdb.DuckDBPyConnection) -> None:
    empty = {k: np.zeros(0) for k in ("time_key", "text_key")}
    empty |= {"bucket": np.zeros(0, dtype=np.int16), "n": np.zeros(0, dtype=np.int64)}
    assert quantile_rows(empty, LEVELS, BucketValues.read(con)) == []


@given(st.integers(-32768, 32767))
def test_the_bucket_table_is_the_macros(con: duckdb.DuckDBPyConnection, key: int) -> None:
    table = BucketValues.read(con)
    index = BucketValues.index(np.array([key], dtype=np.int16))[0]
    by_macro = con.execute(
        "SELECT rollup_bucket_value($k), rollup_bucket_lower($k), rollup_bucket_upper($k)", {"k": key}
    ).fetchone()
    assert (table.value[index], table.lower[index], table.upper[index]) == by_macro


def test_groups_split_on_any_key_and_on_null() -> None:
    times = np.ma.masked_array(np.array(["2020-01-01", "2020-01-01", "2020-01-01", "2020-01-02"], "M8[us]"))
    times[2] = np.ma.masked
    places = np.ma.masked_array(np.array(["TX", "TX", "TX", "TX"], dtype=object))
    assert group_starts([times, places]).tolist() == [0, 2, 3]


def test_the_rank_is_ceil_q_n_and_at_least_one() -> None:
    # Ten rows in buckets of 1, 1, 8: p50 is rank 5 (the third bucket), the 0.05-quantile rank 1 (the first).
    starts = np.array([0])
    counts = np.array([1, 1, 8], dtype=np.int64)
    values = np.array([1.0, 2.0, 3.0])
    totals, picked = pick_quantiles(starts, counts, values, [0.5, 0.05, 0.0, 0.2, 1.0])
    assert totals.tolist() == [10]
    assert [p.tolist() for p in picked] == [[3.0], [1.0], [1.0], [2.0], [3.0]]


def test_histogram_gathers_buckets_into_equal_runs(con: duckdb.DuckDBPyConnection) -> None:
    # Five buckets into two bins: rows 0-2 and 3-4 ((i * 2) // 5), edges the outer edges of each run.
    table = BucketValues.read(con)
    keys = [-2010, -2001, 0, 2001, 2017]
    merged = {"bucket": np.array(keys, dtype=np.int16), "n": np.array([1, 2, 3, 4, 5], dtype=np.int64)}
    edges = "SELECT rollup_bucket_lower($k), rollup_bucket_upper($k)"
    edge = {k: con.execute(edges, {"k": k}).fetchone() for k in keys}
    assert histogram(merged, 2, table) == [
        {"lower": edge[-2010][0], "upper": 0.0, "count": 6},
        {"lower": edge[2001][0], "upper": edge[2017][1], "count": 9},
    ]
    # More bins than buckets: a bin per bucket.
    assert [b["count"] for b in histogram(merged, 40, table)] == [1, 2, 3, 4, 5]
    assert histogram({k: v[:0] for k, v in merged.items()}, 3, table) == []


@given(st.lists(st.integers(1, 1000), min_size=1, max_size=300), st.integers(1, 100))
def test_histogram_keeps_every_row_in_at_most_the_bins_asked(
    con: duckdb.DuckDBPyConnection, counts: list[int], bins: int
) -> None:
    # Consecutive positive keys: each bucket's upper edge is the next one's lower edge.
    keys = np.arange(2000, 2000 + len(counts), dtype=np.int16)
    merged = {"bucket": keys, "n": np.array(counts, dtype=np.int64)}
    answer = histogram(merged, bins, BucketValues.read(con))
    assert sum(b["count"] for b in answer) == sum(counts)
    assert len(answer) == min(bins, len(counts))
    assert all(a["upper"] == b["lower"] for a, b in itertools.pairwise(answer))
