"""The answers of API v1 as pydantic models: they are the OpenAPI schema, and they encode every answer.

Fields that only a ``compare=previous`` answer carries (``previous``, ``change``) are left unset otherwise and
encoded with ``exclude_unset``, so a plain answer has exactly the contract's keys. Times are naive UTC hours as
text, ``YYYY-MM-DDTHH:MM:SS``; an undefined value (the stddev of one row) is ``null``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from duckwifi.contract import METRIC_COLUMNS


class _Answer(BaseModel):
    # NaN or infinity can come out of floating-point statistics; JSON has no such numbers, so they are null.
    model_config = ConfigDict(ser_json_inf_nan="null")


class StateRegion(_Answer):
    state: str = Field(description="USPS code", examples=["TX"])
    region: str = Field(description="Census region", examples=["South"])


class MetricLabel(_Answer):
    name: str = Field(description="what the metric measures; the column name itself when the data has no catalogue")
    unit: str | None = Field(description="its unit; null when the data has no catalogue", examples=["dBm"])
    label: str = Field(description='how to show it: "name (unit)", or the column name', examples=["snr (dB)"])
    description: str | None = Field(description="its family and physical range; null without a catalogue")


class Meta(_Answer):
    metrics: list[str]
    stats: list[str]
    regions: list[str]
    states: list[StateRegion]
    bands: list[int]
    first_hour: str | None = Field(description="oldest hour with data; null when nothing is converted")
    last_hour: str | None = Field(description="newest hour with data; null when nothing is converted")
    last_hour_rows: int | None = Field(description="rows (devices reporting) in the newest hour")
    version: str = Field(description="changes whenever new data is published")
    metric_labels: dict[str, MetricLabel] = Field(
        default_factory=dict,
        description=(
            "An addition to the v1 contract: each metric column's meaning under the generator's realistic "
            "profile (from generator.json's profile and the metric catalogue), keyed by column; the plain column "
            "names for a uniform-profile warehouse or one without generator.json."
        ),
    )


class HourRows(_Answer):
    time: str
    rows: int


class Overview(_Answer):
    """What the page's header shows (an addition to the fixed contract)."""

    first_hour: str | None
    last_hour: str | None
    hours: int = Field(description="hours covered")
    rows: int = Field(description="rows (measurements) in all")
    last_hour_rows: int | None
    rows_per_hour: list[HourRows]
    version: str


class Point(_Answer):
    time: str = Field(description="the bucket's first hour", examples=["2020-01-01T00:00:00"])
    value: float | None
    count: int = Field(description="raw rows behind the value")


class Timeseries(_Answer):
    points: list[Point]


class BreakdownRow(_Answer):
    key: str = Field(description="the region, state or band (as text)")
    value: float | None
    count: int
    previous: float | None = Field(default=None, description="only with compare=previous")
    change: float | None = Field(default=None, description="value - previous; only with compare=previous")


class Breakdown(_Answer):
    rows: list[BreakdownRow]


class Cell(_Answer):
    cell: str = Field(description="the map cell's id")
    lat: float = Field(description="latitude of the cell's centre")
    lon: float = Field(description="longitude of the cell's centre")
    value: float | None
    count: int
    previous: float | None = Field(default=None, description="only with compare=previous")
    change: float | None = Field(default=None, description="value - previous; only with compare=previous")


class MapCells(_Answer):
    cells: list[Cell]


class Bin(_Answer):
    lower: float
    upper: float
    count: int


class Distribution(_Answer):
    p50: float | None
    p90: float | None
    p99: float | None
    count: int
    bins: list[Bin]


class Incident(_Answer):
    """One incident of the generator's log (``duckwifi incidents``): the devices it touched, when, how badly."""

    incident_id: int
    scope: Literal["sector", "area", "state"] = Field(
        description="sector: the devices of state with that cell and sector; area: those in grid cell area; "
        "state: the whole state"
    )
    kind: Literal["outage", "degradation"]
    severity: float = Field(description="0 to 1: how far the catalogue's incident effects apply (outage: 1)")
    start_hour: str = Field(description="first hour, naive UTC", examples=["2020-01-01T09:00:00"])
    end_hour: str = Field(description="end hour, exclusive", examples=["2020-01-01T19:00:00"])
    state: str | None = Field(description="USPS code of the state it is in", examples=["TX"])
    area: int | None = Field(description="the grid cell (0.4 by 0.5 degrees) of an area incident")
    cell: int | None = Field(description="the cell of a sector incident")
    sector: int | None = Field(description="the sector of a sector incident")
    latitude: float | None = Field(description="latitude of the device it is centred on")
    longitude: float | None = Field(description="longitude of the device it is centred on")


class Incidents(_Answer):
    """An addition to the v1 contract: the generator's incidents that overlap the range's hours with data."""

    incidents: list[Incident]


class Health(_Answer):
    status: Literal["ok", "stale"] = Field(
        "ok",
        description="stale: the server could not follow the store's newest publish (see problem) and still "
        "serves version",
    )
    version: str
    seconds_since_publish: float | None = Field(
        description="seconds since the publish of the version served; null when nothing is published"
    )
    problem: str | None = Field(None, description="why the server is stale; null when it is not")
    warming: bool = Field(
        False,
        description="true while the server, after start-up, still loads older days' state-level sketches into "
        "memory, a day at a time: answers are the same, state quantiles over older hours slower until then",
    )


_DEVICE_FIELDS: dict[str, Any] = {
    "datetime": (str, ...),
    "region": (str, ...),
    "state": (str, ...),
    "latitude": (float, ...),
    "longitude": (float, ...),
    "site": (int, ...),
    "cell": (int, ...),
    "sector": (int, ...),
    "band": (int, ...),
    **{metric: (float | None, ...) for metric in METRIC_COLUMNS},
}
DeviceRow = create_model("DeviceRow", __base__=_Answer, **_DEVICE_FIELDS)


class DeviceRows(_Answer):
    rows: list[DeviceRow]  # type: ignore[valid-type]


class Feature(_Answer):
    type: Literal["Feature"] = "Feature"
    properties: dict[str, str] = Field(description='{"state": "TX"}')
    geometry: dict[str, Any] = Field(description="a GeoJSON Polygon or MultiPolygon, longitude then latitude")


class FeatureCollection(_Answer):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]
