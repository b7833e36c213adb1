"""The query parameters of API v1, parsed and checked before any query runs.

Names come from the serving library's allow-lists, so FastAPI's validation answers 422 naming the parameter
for an unknown metric, stat, region, state or band. Times are checked here (whole hours, ``from`` not after
``to``) and refused with the same 422 body. Unknown parameters are ignored.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError

from duckwifi.serving.catalogue import BREAKDOWN_DIMENSIONS, BUCKETS, MAX_LIMIT, METRICS, REGIONS, STATE_REGIONS, STATS

HOUR_FORMAT = "%Y-%m-%dT%H:%M:%S"
HOUR_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z?$"
_HOUR_TEXT = re.compile(HOUR_PATTERN)
HOUR = timedelta(hours=1)
DEFAULT_LIMIT = 50
# The range /api/devices reads when neither from nor to is given: the newest 24 hours.
DEVICE_DEFAULT_SPAN = timedelta(hours=24)

Metric = enum.Enum("Metric", {name: name for name in METRICS}, type=str)  # type: ignore[misc]
Stat = enum.Enum("Stat", {name: name for name in STATS}, type=str)  # type: ignore[misc]
Region = enum.Enum("Region", {name: name for name in REGIONS}, type=str)  # type: ignore[misc]
State = enum.Enum("State", {name: name for name in sorted(STATE_REGIONS)}, type=str)  # type: ignore[misc]
Bucket = enum.Enum("Bucket", {name: name for name in BUCKETS}, type=str)  # type: ignore[misc]
Dimension = enum.Enum("Dimension", {name: name for name in BREAKDOWN_DIMENSIONS}, type=str)  # type: ignore[misc]


class Compare(str, enum.Enum):
    previous = "previous"


def format_hour(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS``; isoformat writes it several times faster than strftime (a 720-point series)."""
    return value.isoformat(timespec="seconds")


def refuse(parameter: str, message: str, value: object = None) -> RequestValidationError:
    """A 422 in FastAPI's own validation shape, naming the query parameter."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", parameter), "msg": message, "input": value}]
    )


# The query parameters that take one value; region, state and band may be repeated (any of them).
SINGLE_VALUED = ("metric", "stat", "from", "to", "bucket", "by", "limit", "compare", "bins")


async def one_value_each(request: Request) -> None:
    """A 422 for a one-valued parameter given twice (``metric=metric_1&metric=metric_2``), which would otherwise
    silently answer for the last."""
    for name in SINGLE_VALUED:
        values = request.query_params.getlist(name)
        if len(values) > 1:
            raise refuse(name, f"{name} takes one value, not {len(values)}", values)


def parse_hour(parameter: str, text: str | None) -> datetime | None:
    """``YYYY-MM-DDTHH:MM:SS`` (naive UTC, a trailing Z accepted) on a whole hour, or None."""
    if text is None:
        return None
    if not _HOUR_TEXT.match(text):
        raise refuse(parameter, "must be YYYY-MM-DDTHH:MM:SS (UTC)", text)
    try:
        value = datetime.strptime(text.removesuffix("Z"), HOUR_FORMAT)
    except ValueError:
        raise refuse(parameter, "is not a valid date and time", text) from None
    if value.minute or value.second:
        raise refuse(parameter, "must be a whole hour (minutes and seconds 00)", text)
    return value


def check_order(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start > end:
        raise refuse("from", "must not be after to", format_hour(start))


FromParam = Annotated[
    str | None,
    Query(
        alias="from",
        pattern=HOUR_PATTERN,
        description="first hour, inclusive: YYYY-MM-DDTHH:MM:SS naive UTC (a trailing Z is accepted)",
        examples=["2020-01-01T00:00:00"],
    ),
]
ToParam = Annotated[
    str | None,
    Query(
        pattern=HOUR_PATTERN, description="end hour, exclusive; same format as from", examples=["2020-01-02T00:00:00"]
    ),
]


@dataclass(frozen=True)
class Range:
    start: datetime | None
    end: datetime | None

    def previous(self) -> Range:
        """The equally long range just before this one (both ends must be set), cut at the first hour a
        datetime holds (0001-01-01), before which there is no data."""
        assert self.start is not None
        assert self.end is not None
        return Range(earlier(self.start, self.end - self.start), self.start)


def earlier(moment: datetime, span: timedelta) -> datetime:
    """``moment - span``, or datetime.min when that is before it (rather than an OverflowError)."""
    return moment - span if moment - datetime.min >= span else datetime.min


def parse_range(from_: str | None, to: str | None) -> Range:
    start, end = parse_hour("from", from_), parse_hour("to", to)
    check_order(start, end)
    return Range(start, end)


# The dependencies below are coroutines, though they never wait: FastAPI runs a plain function dependency in a
# worker thread, and that hop cost more than the parsing (about a tenth of the server's GIL time under load).
async def time_range(from_: FromParam = None, to: ToParam = None) -> Range:
    """The from and to parameters, checked."""
    return parse_range(from_, to)


@dataclass(frozen=True)
class DataQuery:
    """The parameters every data endpoint takes, checked; ``key`` is their canonical form for caching."""

    metric: str
    stat: str
    range: Range
    region: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    band: list[int] = field(default_factory=list)

    def filters(self) -> dict[str, Any]:
        return {"region": self.region or None, "state": self.state or None, "band": self.band or None}

    def key(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "stat": self.stat,
            "from": self.range.start and format_hour(self.range.start),
            "to": self.range.end and format_hour(self.range.end),
            "region": self.region,
            "state": self.state,
            "band": self.band,
        }


async def data_query(
    metric: Annotated[Metric, Query(description="the metric; required")],  # type: ignore[valid-type]
    stat: Annotated[Stat, Query(description="the statistic; stddev is the sample's")] = Stat.avg,  # type: ignore[valid-type]
    from_: FromParam = None,
    to: ToParam = None,
    region: Annotated[list[Region] | None, Query(description="any of these Census regions")] = None,  # type: ignore[valid-type]
    state: Annotated[list[State] | None, Query(description="any of these USPS codes")] = None,  # type: ignore[valid-type]
    band: Annotated[
        list[Annotated[int, Query(ge=1, le=10)]] | None, Query(description="any of these bands, 1-10")
    ] = None,
) -> DataQuery:
    return DataQuery(
        metric=metric.value,
        stat=stat.value,
        range=parse_range(from_, to),
        region=sorted({r.value for r in region or []}),
        state=sorted({s.value for s in state or []}),
        band=sorted(set(band or [])),
    )


def compare_range(compare: Compare | None, query: DataQuery) -> Range | None:
    """The previous range for ``compare=previous``, which needs both from and to."""
    if compare is None:
        return None
    if query.range.start is None or query.range.end is None:
        raise refuse("compare", "compare=previous needs both from and to", compare.value)
    return query.range.previous()


CompareParam = Annotated[
    Compare | None,
    Query(description="previous: add each row's value over the equally long range just before from, and the change"),
]
BucketParam = Annotated[Bucket, Query(description="hour or day (a day is labelled by its first hour)")]  # type: ignore[valid-type]
DimensionParam = Annotated[Dimension, Query(description="group by region, state or band")]  # type: ignore[valid-type]
LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"at most this many rows (1-{MAX_LIMIT})")]
