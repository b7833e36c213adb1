"""Allow-lists for every name a serving query accepts, and the checks that turn input into bind values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from duckwifi.contract import METRIC_COLUMNS
from duckwifi.errors import InvalidQuery

METRICS: tuple[str, ...] = METRIC_COLUMNS
STATS: tuple[str, ...] = ("count", "avg", "min", "max", "stddev", "p50", "p90", "p99")
QUANTILES: dict[str, float] = {"p50": 0.5, "p90": 0.9, "p99": 0.99}
# The map keeps count, sum, min and max per cell: enough for these.
MAP_STATS: tuple[str, ...] = ("count", "avg", "min", "max")
BUCKETS: tuple[str, ...] = ("hour", "day")
BREAKDOWN_DIMENSIONS: tuple[str, ...] = ("region", "state", "band")
BANDS: tuple[int, ...] = tuple(range(1, 11))
REGIONS: tuple[str, ...] = ("Midwest", "Northeast", "South", "West")
# USPS code -> Census region; the same pairs as sql/reference/state_regions.sql (a test keeps them equal).
STATE_REGIONS: dict[str, str] = {
    **dict.fromkeys(("CT", "ME", "MA", "NH", "RI", "VT", "NJ", "NY", "PA"), "Northeast"),
    **dict.fromkeys(("IL", "IN", "MI", "OH", "WI", "IA", "KS", "MN", "MO", "NE", "ND", "SD"), "Midwest"),
    **dict.fromkeys(
        ("DE", "DC", "FL", "GA", "MD", "NC", "SC", "VA", "WV", "AL", "KY", "MS", "TN", "AR", "LA", "OK", "TX"),
        "South",
    ),
    **dict.fromkeys(("AZ", "CO", "ID", "MT", "NV", "NM", "UT", "WY", "AK", "CA", "HI", "OR", "WA"), "West"),
}
MAX_LIMIT = 1000
MAX_BINS = 200

Filter = str | Sequence[str] | None
BandFilter = int | Sequence[int] | None


def metric_index(metric: object) -> int:
    if not isinstance(metric, str) or metric not in METRICS:
        raise InvalidQuery("metric", f"unknown metric {metric!r}; one of metric_1 ... metric_{len(METRICS)}")
    return METRICS.index(metric) + 1


def check_choice(parameter: str, value: object, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidQuery(parameter, f"unknown {parameter} {value!r}; one of {', '.join(allowed)}")
    return value


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, str | int):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    return [value]


def regions_filter(value: Filter) -> list[str]:
    items = _as_list(value)
    for item in items:
        check_choice("region", item, REGIONS)
    return sorted(set(items))  # type: ignore[arg-type]


def states_filter(value: Filter) -> list[str]:
    items = _as_list(value)
    for item in items:
        if not isinstance(item, str) or item not in STATE_REGIONS:
            raise InvalidQuery("state", f"unknown state {item!r}; a USPS code such as TX or DC")
    return sorted(set(items))  # type: ignore[arg-type]


def bands_filter(value: BandFilter) -> list[int]:
    items = _as_list(value)
    out: list[int] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item not in BANDS:
            raise InvalidQuery("band", f"unknown band {item!r}; an integer from 1 to 10")
        out.append(item)
    return sorted(set(out))


def whole_hour(parameter: str, value: object) -> datetime | None:
    """A naive UTC whole hour (an aware time is converted to UTC first), or None."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidQuery(parameter, f"must be a datetime, not {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    if value.minute or value.second or value.microsecond:
        raise InvalidQuery(parameter, f"{value.isoformat()} is not a whole hour")
    return value


def positive_int(parameter: str, value: object, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidQuery(parameter, f"must be an integer from 1 to {maximum}, not {value!r}")
    return value


HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
