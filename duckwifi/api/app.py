"""The ASGI application: API v1 under ``/api``, the page at ``/``, OpenAPI at ``/openapi.json``, docs at ``/docs``.

Every data endpoint is a plain function run in the worker thread pool (DuckDB releases the GIL while it
works); shared resources (the data, the device reader) reach handlers through dependencies.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BeforeValidator
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from duckwifi.api import encoding, models
from duckwifi.api.data import DashboardData, Encoded
from duckwifi.api.devices import DeviceReader, warehouse_lake
from duckwifi.api.generator_log import generator_info, list_incidents, metric_labels
from duckwifi.api.outlines import state_outlines
from duckwifi.api.params import (
    DEFAULT_LIMIT,
    DEVICE_DEFAULT_SPAN,
    HOUR,
    HOUR_FORMAT,
    Bucket,
    BucketParam,
    CompareParam,
    DataQuery,
    Dimension,
    DimensionParam,
    LimitParam,
    Range,
    compare_range,
    data_query,
    earlier,
    format_hour,
    one_value_each,
    time_range,
)
from duckwifi.errors import LakeUnreadable, RollupsDamaged

log = logging.getLogger("duckwifi.serve")
API_VERSION = "1"
MAX_SITE = 2**63 - 1
_DIGITS = re.compile("[0-9]+")
PLOTLY_PACKAGE = "plotly"
PLOTLY_FILE = "package_data/plotly.min.js"


@dataclass
class ServeSettings:
    """What ``duckwifi serve`` was asked for, beyond the warehouse."""

    token: str | None = None
    cors_origins: list[str] = field(default_factory=list)


@dataclass
class Resources:
    data: DashboardData
    devices: DeviceReader
    settings: ServeSettings


async def get_resources(request: Request) -> Resources:
    return request.app.state.resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def require_token(request: Request) -> None:
    """Bearer authentication on /api/* when the server has a token (constant-time comparison)."""
    token = request.app.state.resources.settings.token
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(
            401, "the bearer token is not the server's", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )


api = APIRouter(prefix="/api", dependencies=[Depends(require_token), Depends(one_value_each)])
_VALIDATION = {422: {"description": "a bad parameter; the body names it (detail[].loc)"}}


def _data_response(model: type, arrow: bool = False) -> dict[int | str, dict[str, Any]]:
    content: dict[str, Any] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
    if arrow:
        content[encoding.ARROW_STREAM] = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"content": content}, 304: {"description": "not modified (If-None-Match)"}, **_VALIDATION}


@api.get("/meta", response_model=models.Meta, responses=_data_response(models.Meta))
def meta(request: Request, res: ResourcesDep) -> Response:
    """The allow-lists, the hours covered and the data's version; ``metric_labels`` says what each metric is."""
    data = res.data

    def produce() -> Encoded:
        answer = data.meta()
        answer.metric_labels = metric_labels(generator_info(data.warehouse))
        return encoding.json_answer(answer)

    return encoding.respond(request, data.cache, data.version, {"e": "meta"}, produce)


@api.get("/overview", response_model=models.Overview, responses=_data_response(models.Overview))
def overview(request: Request, res: ResourcesDep) -> Response:
    """Hours covered, rows per hour and the newest hour (the page's header). An addition to the v1 contract."""
    data = res.data
    return encoding.respond(
        request, data.cache, data.version, {"e": "overview"}, lambda: encoding.json_answer(data.overview())
    )


_TIMESERIES_SCHEMA = pa.schema([("time", pa.timestamp("s")), ("value", pa.float64()), ("count", pa.int64())])


@api.get("/timeseries", response_model=models.Timeseries, responses=_data_response(models.Timeseries, arrow=True))
def timeseries(
    request: Request,
    res: ResourcesDep,
    query: Annotated[DataQuery, Depends(data_query)],
    bucket: BucketParam = Bucket.hour,  # type: ignore[attr-defined]
) -> Response:
    """The statistic by hour or day, ordered by time; only buckets with data."""
    data = res.data
    arrow = encoding.wants_arrow(request)
    key = {"e": "timeseries", "bucket": bucket.value, "arrow": arrow, **query.key()}

    def produce() -> Encoded:
        answer = data.timeseries(query, bucket.value)
        if arrow:
            return encoding.arrow_answer(encoding.arrow_table(answer.points, _TIMESERIES_SCHEMA))
        return encoding.json_answer(answer)

    return encoding.respond(request, data.cache, data.version, key, produce)


@api.get("/breakdown", response_model=models.Breakdown, responses=_data_response(models.Breakdown))
def breakdown(
    request: Request,
    res: ResourcesDep,
    query: Annotated[DataQuery, Depends(data_query)],
    by: DimensionParam = Dimension.state,  # type: ignore[attr-defined]
    limit: LimitParam = DEFAULT_LIMIT,
    compare: CompareParam = None,
) -> Response:
    """The statistic by region, state or band, highest first (ties by key)."""
    data = res.data
    previous = compare_range(compare, query)
    key = {"e": "breakdown", "by": by.value, "limit": limit, "compare": previous is not None, **query.key()}
    return encoding.respond(
        request,
        data.cache,
        data.version,
        key,
        lambda: encoding.json_answer(data.breakdown(query, by.value, limit, previous), exclude_unset=True),
    )


def _cells_schema(compared: bool) -> pa.Schema:
    fields = [("cell", pa.string()), ("lat", pa.float64()), ("lon", pa.float64()), ("value", pa.float64())]
    fields.append(("count", pa.int64()))
    if compared:
        fields += [("previous", pa.float64()), ("change", pa.float64())]
    return pa.schema(fields)


@api.get("/map", response_model=models.MapCells, responses=_data_response(models.MapCells, arrow=True))
def map_cells(
    request: Request,
    res: ResourcesDep,
    query: Annotated[DataQuery, Depends(data_query)],
    compare: CompareParam = None,
) -> Response:
    """The statistic by map cell (count, avg, min or max), each with its centre."""
    data = res.data
    previous = compare_range(compare, query)
    arrow = encoding.wants_arrow(request)
    key = {"e": "map", "compare": previous is not None, "arrow": arrow, **query.key()}

    def produce() -> Encoded:
        cells = data.map_cells(query, previous)
        if arrow:
            return encoding.arrow_answer(encoding.arrow_rows(cells, _cells_schema(previous is not None)))
        return encoding.json_rows_answer("cells", cells)

    return encoding.respond(request, data.cache, data.version, key, produce)


@api.get("/distribution", response_model=models.Distribution, responses=_data_response(models.Distribution))
def distribution(request: Request, res: ResourcesDep, query: Annotated[DataQuery, Depends(data_query)]) -> Response:
    """p50, p90, p99, the count and a histogram of the metric (``stat`` is checked, as everywhere, but not used)."""
    data = res.data
    key = {"e": "distribution", **query.key(), "stat": None}
    return encoding.respond(
        request, data.cache, data.version, key, lambda: encoding.json_answer(data.distribution(query))
    )


@api.get("/states", response_model=models.FeatureCollection)
def states(request: Request) -> Response:
    """The state outlines (Census cb_2016_us_state_500k, simplified) as GeoJSON; property ``state``."""
    entry = _outlines_answer()
    etag = encoding.etag_for("outlines", str(len(entry.body)))
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=encoding.headers(etag))
    return encoding.send(request, entry, encoding.headers(etag, cache_control="public, max-age=86400"))


def _outlines_answer() -> Encoded:
    return _cached_static("outlines", lambda: encoding.json_answer(state_outlines()))


def _digits_only(value: object) -> object:
    """A site is written in digits: pydantic would also read 5.0, +5 and " 5" as 5."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("a site id is a positive integer, written in digits only")
    return value


@api.get(
    "/devices/{site}",
    response_model=models.DeviceRows,
    responses={404: {"description": "the site has no rows in the range"}, **_VALIDATION},
)
def device(
    request: Request,
    res: ResourcesDep,
    site: Annotated[
        int,
        PathParam(ge=1, le=MAX_SITE, description="the device's site id, a positive integer"),
        BeforeValidator(_digits_only),
    ],
    asked: Annotated[Range, Depends(time_range)],
) -> Response:
    """One device's raw rows from the lake, by time; the range defaults to the newest 24 hours."""
    res.devices.check_present()
    span = _device_range(res.devices, asked)
    if span is None:
        raise HTTPException(404, f"site {site} has no rows: the lake holds no data yet")
    start, end = span
    key = {"e": "device", "site": site, "from": format_hour(start), "to": format_hour(end)}
    data = res.data

    def produce() -> Encoded:
        rows = res.devices.rows(site, start, end)
        if not rows:
            raise HTTPException(404, f"site {site} has no rows from {format_hour(start)} to {format_hour(end)}")
        return encoding.json_answer(models.DeviceRows(rows=rows))

    return encoding.respond(request, data.cache, data.version, key, produce)


def _device_range(devices: DeviceReader, asked: Range) -> tuple[datetime, datetime] | None:
    """The asked range, defaulted to the newest 24 hours; None when it needs the newest hour and there is none."""
    if asked.start is not None and asked.end is not None:
        return asked.start, asked.end
    if asked.end is not None:
        return earlier(asked.end, DEVICE_DEFAULT_SPAN), asked.end
    newest = devices.newest_hour()
    if newest is None:
        return None
    end = newest + HOUR
    if asked.start is not None:
        return asked.start, max(end, asked.start)
    return earlier(end, DEVICE_DEFAULT_SPAN), end


@api.get("/incidents", response_model=models.Incidents, responses=_data_response(models.Incidents))
def incidents(request: Request, res: ResourcesDep, asked: Annotated[Range, Depends(time_range)]) -> Response:
    """The generator's incidents (as ``duckwifi incidents`` lists them) that overlap [from, to), within the hours
    that hold data; from and to default to all of them. Empty for a warehouse without ``generator.json`` or of
    the uniform profile. An addition to the v1 contract, for the page to make incidents stand out."""
    data = res.data
    key = {
        "e": "incidents",
        "from": asked.start and format_hour(asked.start),
        "to": asked.end and format_hour(asked.end),
    }

    def produce() -> Encoded:
        start, end = _covered(data.meta(), asked)
        # Between the first and the newest hour there may be hours nothing was converted for (a gap of months).
        found = [] if start is None or end is None else list_incidents(data.warehouse, start, end, data.holds_data)
        return encoding.json_answer(models.Incidents(incidents=found))

    return encoding.respond(request, data.cache, data.version, key, produce)


def _covered(meta: models.Meta, asked: Range) -> tuple[datetime | None, datetime | None]:
    """The part of ``asked`` with data, [first hour, newest hour + 1), or (None, None) when there is none.

    Clipping to the data keeps the planning small whatever the range asked (a fuzzer's year 1 to 9999), and an
    incident of hours nothing was converted for is not one an analyst could see in the data.
    """
    if meta.first_hour is None or meta.last_hour is None:
        return None, None
    first = datetime.strptime(meta.first_hour, HOUR_FORMAT)
    end = datetime.strptime(meta.last_hour, HOUR_FORMAT) + HOUR
    start = first if asked.start is None else max(asked.start, first)
    stop = end if asked.end is None else min(asked.end, end)
    return (start, stop) if start < stop else (None, None)


@api.get("/health", response_model=models.Health)
def health(res: ResourcesDep) -> Response:
    """Liveness, the data's version and the seconds since the last publish (never cached)."""
    body = res.data.health().model_dump_json().encode()
    return Response(body, media_type=encoding.JSON, headers=encoding.headers(None, cache_control="no-store"))


# -- the page -----------------------------------------------------------------------------------------------

page = APIRouter(include_in_schema=False)
_STATIC = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
_STATIC_CACHE: dict[str, Encoded] = {}


def _cached_static(name: str, produce: Callable[[], Encoded]) -> Encoded:
    entry = _STATIC_CACHE.get(name)
    if entry is None:
        entry = _STATIC_CACHE[name] = produce()
    return entry


def _static_bytes(name: str) -> bytes:
    return resources.files("duckwifi.api").joinpath("static", name).read_bytes()


def _plotly_bytes() -> bytes:
    return resources.files(PLOTLY_PACKAGE).joinpath(PLOTLY_FILE).read_bytes()


def _static_response(request: Request, name: str, media_type: str, read: Callable[[], bytes]) -> Response:
    entry = _cached_static(name, lambda: encoding.compressed(read(), media_type))
    etag = encoding.etag_for(name, str(hash(entry.body)))
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=encoding.headers(etag))
    return encoding.send(request, entry, encoding.headers(etag))


@page.get("/")
def index(request: Request) -> Response:
    return _static_response(request, "index.html", "text/html; charset=utf-8", lambda: _static_bytes("index.html"))


@page.get("/static/{name}")
def static(request: Request, name: str) -> Response:
    if name == "plotly.min.js":
        return _static_response(request, name, "text/javascript; charset=utf-8", _plotly_bytes)
    if name not in _STATIC:
        raise HTTPException(404, "no such file")
    return _static_response(request, name, _STATIC[name], lambda: _static_bytes(name))


# -- the application ----------------------------------------------------------------------------------------


class HeadAsGet:
    """HEAD is answered as GET: RFC 9110 asks every general-purpose server for both, and monitors and
    ``curl -I`` use it. The server (uvicorn) sends no body for a HEAD request, from its own scope, which this
    leaves as it is; the headers, Content-Length included, are the GET's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)


class RequestLog:
    """One line per request on the ``duckwifi.serve`` logger: client, method, path, status, bytes, time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        sent = 0

        async def counting(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            client = scope.get("client") or ("-", 0)
            query = scope.get("query_string", b"").decode("latin-1")
            target = scope["path"] + (f"?{query}" if query else "")
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %d %dB %.1fms", client[0], scope["method"], target, status, sent, elapsed_ms)


async def _validation_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    detail = [{k: v for k, v in e.items() if k in {"type", "loc", "msg", "input"}} for e in error.errors()]
    return JSONResponse({"detail": _jsonable(detail)}, status_code=422, headers={"Vary": encoding.VARY})


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


async def _data_unreadable(_: Request, error: Exception) -> Response:
    """A lake file, or a rollup unit a question reads, that cannot be read: the message names it and the way
    out (`duckwifi check`)."""
    log.warning("%s", error)
    return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "5"})


def create_app(
    data: DashboardData,
    devices: DeviceReader,
    settings: ServeSettings | None = None,
    *,
    poll: bool = True,
) -> FastAPI:
    """The ASGI app over ``data`` and ``devices``; it starts and stops the data's poller with its lifespan."""
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if poll:
            data.start()
        try:
            yield
        finally:
            data.stop()

    # The docs page's Swagger UI comes from fastapi-offline's bundled copy: like the dashboard, it loads nothing
    # from another origin (FastAPI's own /docs would fetch it from a CDN).
    app = FastAPIOffline(
        docs_url="/docs",
        redoc_url=None,
        favicon_url="data:,",
        static_url="/static/docs",
        title="duckwifi dashboard API",
        version=API_VERSION,
        summary="Hourly wifi-modem telemetry, answered from the rollup store (API v1).",
        description=(
            "Every data endpoint takes metric (required), stat, from (inclusive), to (exclusive), and the "
            "filters region, state and band (repeat a parameter for 'any of'). Times are naive UTC whole hours "
            "YYYY-MM-DDTHH:MM:SS. A bad parameter is a 422 naming it. Answers carry an ETag (send it back in "
            "If-None-Match for a 304) and are gzipped when large; /api/map and /api/timeseries answer Arrow IPC "
            f"on Accept: {encoding.ARROW_STREAM}."
        ),
        lifespan=lifespan,
    )
    app.state.resources = Resources(data=data, devices=devices, settings=settings)
    app.include_router(api)
    app.include_router(page)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(LakeUnreadable, _data_unreadable)
    app.add_exception_handler(RollupsDamaged, _data_unreadable)
    app.add_middleware(HeadAsGet)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET"],
            allow_headers=["Authorization", "If-None-Match"],
            expose_headers=["ETag"],
        )
    app.add_middleware(RequestLog)
    return app


def open_app(warehouse_root: Path, lake: Path | None, settings: ServeSettings | None = None, **kwargs: Any) -> FastAPI:
    """The app over a warehouse (the command's and the tests' way in)."""
    from duckwifi.warehouse import Warehouse

    warehouse = Warehouse(warehouse_root)
    data = DashboardData(warehouse)
    devices = DeviceReader(warehouse_lake(warehouse, lake), warehouse.devices_parquet)
    return create_app(data, devices, settings, **kwargs)
