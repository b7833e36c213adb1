"""Quantiles from merged sketch buckets: the ranking step of a quantile question, in numpy.

``serving_quantiles`` (sql/serving/create_serving_macros.sql) is the same rule in SQL, used when hours and
days are loaded, where its window runs once over millions of buckets. A question ranks a few thousand
buckets, where DuckDB's window has a fixed cost of several milliseconds (about 6 ms for the 12,000 merged
buckets of a 30-day state breakdown) and numpy's running sum a few microseconds, so questions rank here.
The two are tested against each other.

The rule: in a group of n rows, the q-quantile is the representative value of the first bucket (in value
order) whose running count reaches ``max(ceil(q * n), 1)``, the row of rank ceil(q n) that DuckDB's
``quantile_disc`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

from duckwifi import queries

# A sketch key's row in BucketValues: keys are SMALLINT, so every key has one.
_KEY_OFFSET = 32768


@dataclass(frozen=True)
class BucketValues:
    """Every sketch key's representative value and edges (sql/serving/bucket_values.sql, from the rollup
    macros), indexed by key: a question looks up the few buckets it picks instead of DuckDB computing three
    powers for each of its merged buckets."""

    value: npt.NDArray[np.float64]
    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> BucketValues:
        """The table, from a connection with the rollup macros installed."""
        rows = con.execute(queries.load("serving/bucket_values.sql")).fetchnumpy()
        return cls(rows["value"], rows["lower"], rows["upper"])

    @staticmethod
    def index(buckets: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
        return np.asarray(buckets, dtype=np.intp) + _KEY_OFFSET


def group_starts(keys: Sequence[npt.NDArray[Any]]) -> npt.NDArray[np.intp]:
    """The index of each group's first row, in rows sorted by ``keys`` (arrays of equal length, masked where a
    key is NULL, as DuckDB's ``fetchnumpy`` gives them)."""
    length = len(keys[0]) if keys else 0
    if length == 0:
        return np.zeros(0, dtype=np.intp)
    changed = np.zeros(length - 1, dtype=bool)
    for key in keys:
        absent = np.ma.getmaskarray(key)
        present = np.ma.getdata(key)
        changed |= absent[1:] != absent[:-1]
        changed |= ~absent[1:] & ~absent[:-1] & (present[1:] != present[:-1])
    return np.concatenate(([0], np.flatnonzero(changed) + 1)).astype(np.intp)


def pick_quantiles(
    starts: npt.NDArray[np.intp],
    counts: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    levels: Sequence[float],
) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[np.float64]]]:
    """Each group's row count and its quantile at each level. ``counts`` and ``values`` are the buckets' rows
    (positive) and representative values, ordered by bucket within each group; ``starts`` from group_starts."""
    running = np.cumsum(counts, dtype=np.int64)
    before = running[starts] - counts[starts]  # the rows of the groups before each group
    totals = np.append(before[1:], running[-1]) - before
    picked = []
    for level in levels:
        # The same double arithmetic as the SQL macro's ceil(total * q).
        rank = np.maximum(np.ceil(totals * level), 1).astype(np.int64)
        picked.append(values[np.searchsorted(running, before + rank, side="left")])
    return totals, picked


def quantile_rows(
    merged: Mapping[str, npt.NDArray[Any]], levels: Sequence[float], table: BucketValues
) -> list[tuple[Any, ...]]:
    """``(time_key, text_key, p50, p90, p99, n)`` per group, in group order, from sketch_merge.sql's columns
    fetched as numpy arrays (``time_key``, ``text_key``, ``bucket``, ``n``)."""
    if len(merged["n"]) == 0:
        return []
    starts = group_starts([merged["time_key"], merged["text_key"]])
    values = table.value[BucketValues.index(merged["bucket"])]
    totals, picked = pick_quantiles(starts, merged["n"].astype(np.int64), values, levels)
    times = merged["time_key"][starts].tolist()
    texts = merged["text_key"][starts].tolist()
    return list(zip(times, texts, *(p.tolist() for p in picked), totals.tolist(), strict=True))


def histogram(merged: Mapping[str, npt.NDArray[Any]], bins: int, table: BucketValues) -> list[dict[str, Any]]:
    """One group's merged buckets (sketch_merge.sql's ``bucket`` and ``n``, in value order) gathered
    into at most ``bins`` bins of as many buckets each, so bins are about equal in log scale and a gap between
    negative and positive values costs nothing: ``[{"lower", "upper", "count"}]``, each bin's edges its
    buckets' outer edges, its count exact."""
    buckets = len(merged["n"])
    if buckets == 0:
        return []
    of_bucket = np.arange(buckets) * bins // buckets
    firsts = np.flatnonzero(np.diff(of_bucket, prepend=-1))
    lasts = np.append(firsts[1:], buckets) - 1
    counts = np.add.reduceat(merged["n"].astype(np.int64), firsts)
    keys = BucketValues.index(merged["bucket"])
    lower, upper = table.lower[keys[firsts]].tolist(), table.upper[keys[lasts]].tolist()
    return [{"lower": a, "upper": b, "count": n} for a, b, n in zip(lower, upper, counts.tolist(), strict=True)]
