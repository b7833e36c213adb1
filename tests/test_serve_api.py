"""API v1 through the ASGI app, against a real small lake (tick, convert with rollups): every endpoint, every
error case, parity with raw SQL over the telemetry view, ETag/304, gzip, Arrow, authentication, CORS."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import time
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from duckwifi.api import models
from duckwifi.api.app import ServeSettings, open_app
from duckwifi.generator.incidents import list_incidents
from duckwifi.readers import reader_connection
from duckwifi.warehouse import Warehouse
from tests.conftest import invoke
from tests.serve_support import DEVICES, HOURS

FIRST = datetime(2020, 1, 1)
LAST = FIRST + timedelta(hours=HOURS - 1)
ARROW = "application/vnd.apache.arrow.stream"


def hour(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture(scope="module")
def client(served_lake):
    app = open_app(served_lake.warehouse, served_lake.lake)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def sql(served_lake):
    con = reader_connection(Warehouse(served_lake.warehouse))
    yield con
    con.close()


def get(client: TestClient, path: str, **params) -> dict:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# -- meta, overview, health ---------------------------------------------------------------------------------


def test_meta_lists_the_allow_lists_and_the_hours_covered(client):
    meta = get(client, "/api/meta")
    # The contract's keys, and one addition (metric_labels, below).
    assert set(meta) - {"metric_labels"} == {
        "metrics",
        "stats",
        "regions",
        "states",
        "bands",
        "first_hour",
        "last_hour",
        "last_hour_rows",
        "version",
    }
    assert meta["metrics"] == [f"metric_{k}" for k in range(1, 21)]
    assert meta["stats"] == ["count", "avg", "min", "max", "stddev", "p50", "p90", "p99"]
    assert meta["regions"] == ["Midwest", "Northeast", "South", "West"]
    assert {"state": "TX", "region": "South"} in meta["states"]
    assert meta["bands"] == list(range(1, 11))
    assert (meta["first_hour"], meta["last_hour"]) == (hour(FIRST), hour(LAST))
    assert meta["last_hour_rows"] == DEVICES
    assert meta["version"]


def test_meta_labels_the_metrics_from_the_realistic_catalogue(client):
    labels = get(client, "/api/meta")["metric_labels"]
    assert list(labels) == [f"metric_{k}" for k in range(1, 21)]
    assert labels["metric_1"] == {
        "name": "signal_strength",
        "unit": "dBm",
        "label": "signal_strength (dBm)",
        "description": "signal_strength in dBm: normal, physically -120 to -20",
    }
    assert labels["metric_15"]["label"] == "temperature (°C)"
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "metric_labels" in schema["Meta"]["properties"]
    assert set(schema["MetricLabel"]["properties"]) == {"name", "unit", "label", "description"}


def altered_copy(served_lake, tmp_path, change: str):
    """A copy of the served warehouse (over the same lake) whose generator.json says uniform, is gone (a
    warehouse of delivered CSVs) or is damaged, or whose devices.parquet is damaged."""
    warehouse = tmp_path / "wh"
    shutil.copytree(served_lake.warehouse, warehouse)
    info = warehouse / "generator.json"
    if change == "uniform":
        info.write_text(info.read_text().replace('"realistic"', '"uniform"'))
    elif change == "missing":
        info.unlink()
    elif change == "damaged":
        info.write_text("{not json")
    elif change == "damaged devices":
        (warehouse / "devices.parquet").write_bytes(b"PAR1 not a parquet file at all PAR1")
    else:
        raise ValueError(change)
    return open_app(warehouse, served_lake.lake, poll=False)


@pytest.mark.parametrize("generator_json", ["uniform", "missing", "damaged"])
def test_meta_keeps_plain_names_without_the_realistic_catalogue(served_lake, tmp_path, generator_json):
    # The labels fall back to the column names and the answer is still a 200.
    with TestClient(altered_copy(served_lake, tmp_path, generator_json)) as c:
        labels = get(c, "/api/meta")["metric_labels"]
    assert labels["metric_1"] == {"name": "metric_1", "unit": None, "label": "metric_1", "description": None}
    assert [v["label"] for v in labels.values()] == [f"metric_{k}" for k in range(1, 21)]


def test_overview_and_health(client):
    overview = get(client, "/api/overview")
    assert overview["hours"] == HOURS
    assert overview["rows"] == HOURS * DEVICES
    assert overview["rows_per_hour"][0] == {"time": hour(FIRST), "rows": DEVICES}
    health = client.get("/api/health")
    assert health.headers["cache-control"] == "no-store"
    body = health.json()
    assert body["status"] == "ok"
    assert body["version"] == overview["version"]
    assert body["seconds_since_publish"] >= 0
    assert body["warming"] is False


def test_the_server_starts_warming_and_its_poller_fills_the_sketch_window(tmp_path):
    """The server starts before the state-level hourly sketches of its older days are in memory (health says
    warming); its poller loads them a day at a time, back to back, and no answer changes meanwhile."""
    from duckwifi.api.data import DashboardData
    from tests.rollup_lake import build

    # Hours 0, 30, 80 and 110 of five days: the newest 48 hours hold 80 and 110, and the load's own refresh
    # fills only the day before them (empty), so days 0 and 1 are left to the poller.
    lake = build(tmp_path, devices=200, hours=120, start="2020-01-01 00:00:00", kept={0, 30, 80, 110})
    first = datetime(2020, 1, 1)
    span = (first + timedelta(hours=1), first + timedelta(hours=111))
    data = DashboardData(Warehouse(lake.warehouse), poll_interval_s=0.5)
    manifest = lake.warehouse / "rollups" / "manifest.json"
    try:
        assert data.health().warming
        before = data._store.breakdown("metric_4", "p99", "state", *span, limit=1000)
        # A refresh that fails (the manifest gone) is not retried at once, filling or not: at the poll interval.
        kept = manifest.read_bytes()
        manifest.unlink()
        refreshes = []
        refresh = data.refresh
        data.refresh = lambda: refreshes.append(1) or refresh()
        data.start()
        time.sleep(1.6)
        assert 1 <= len(refreshes) <= 5
        manifest.write_bytes(kept)
        deadline = time.monotonic() + 30
        while data.health().warming and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not data.health().warming
        assert data._store.breakdown("metric_4", "p99", "state", *span, limit=1000) == before
    finally:
        data.close()


def test_health_is_stale_while_the_store_cannot_be_followed(tmp_path):
    """A manifest the server cannot read leaves it serving the version it has: health says so (stale, and
    why), and the age stays that of the version served; a readable publish makes it ok again."""
    import time

    from duckwifi.api.data import DashboardData
    from tests.conftest import run_cli

    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", 200).returncode == 0
    assert run_cli("tick", "--warehouse", wh, "--out", src, "--hours", 2).returncode == 0
    assert run_cli("convert", src, lake, "--warehouse", wh).returncode == 0
    data = DashboardData(Warehouse(wh), poll_interval_s=0.05)
    manifest = wh / "rollups" / "manifest.json"
    good = manifest.read_text()
    try:
        data.start()
        served = data.health()
        assert served.status == "ok"
        assert served.problem is None
        time.sleep(0.3)
        manifest.write_text("{")
        deadline = time.monotonic() + 10
        while data.health().status == "ok" and time.monotonic() < deadline:
            time.sleep(0.05)
        stale = data.health()
        assert stale.status == "stale"
        # The condition in words, as the CLI says it; not the name of a class.
        assert stale.problem
        assert not stale.problem.startswith("RollupsDamaged")
        assert "rollup --rebuild" in stale.problem or "check --repair" in stale.problem, stale.problem
        assert stale.version == served.version
        assert stale.seconds_since_publish >= served.seconds_since_publish + 0.3
        manifest.write_text(good)
        deadline = time.monotonic() + 10
        while data.health().status == "stale" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert data.health().status == "ok"
        # The whole rollups folder deleted: not an empty store to serve, but one to rebuild.
        aside = tmp_path / "rollups-aside"
        (wh / "rollups").rename(aside)
        deadline = time.monotonic() + 10
        while data.health().status == "ok" and time.monotonic() < deadline:
            time.sleep(0.05)
        gone = data.health()
        assert gone.status == "stale"
        assert gone.problem is not None
        assert "is gone; run `duckwifi rollup --rebuild`" in gone.problem
        assert gone.version == served.version
        assert data.overview().rows == 400
        aside.rename(wh / "rollups")
        deadline = time.monotonic() + 10
        while data.health().status == "stale" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert data.health().status == "ok"
    finally:
        data.close()


# -- time series -------------------------------------------------------------------------------------------


def test_timeseries_by_hour_matches_raw_sql(client, sql):
    points = get(client, "/api/timeseries", metric="metric_3", stat="avg")["points"]
    expected = sql.execute(
        "SELECT strftime(hour_start, '%Y-%m-%dT%H:%M:%S'), avg(metric_3), count(*) FROM telemetry "
        "GROUP BY hour_start ORDER BY hour_start"
    ).fetchall()
    assert [p["time"] for p in points] == [e[0] for e in expected]
    assert [p["count"] for p in points] == [e[2] for e in expected]
    for p, e in zip(points, expected, strict=True):
        assert p["value"] == pytest.approx(float(e[1]), rel=1e-9)


@pytest.mark.parametrize(
    ("stat", "aggregate"),
    [("count", "count(*)"), ("min", "min(m)"), ("max", "max(m)"), ("stddev", "stddev_samp(m)"), ("avg", "avg(m)")],
)
def test_timeseries_filters_and_stats_match_raw_sql(client, sql, stat, aggregate):
    start, end = FIRST + timedelta(hours=2), FIRST + timedelta(hours=5)
    answer = client.get(
        "/api/timeseries",
        params=[
            ("metric", "metric_7"),
            ("stat", stat),
            ("from", hour(start)),
            ("to", hour(end)),
            ("state", "TX"),
            ("state", "CA"),
            ("band", "3"),
            ("band", "4"),
            ("band", "5"),
        ],
    ).json()["points"]
    rows = sql.execute(
        f"SELECT strftime(hour_start, '%Y-%m-%dT%H:%M:%S'), {aggregate}, count(*) "
        "FROM (SELECT hour_start, metric_7::DOUBLE AS m FROM telemetry "
        "WHERE state IN ('TX', 'CA') AND band IN (3, 4, 5) AND hour_start >= $s AND hour_start < $e) "
        "GROUP BY hour_start ORDER BY hour_start",
        {"s": start, "e": end},
    ).fetchall()
    assert [p["time"] for p in answer] == [r[0] for r in rows]
    for p, r in zip(answer, rows, strict=True):
        assert p["count"] == r[2]
        assert p["value"] == pytest.approx(float(r[1]), rel=1e-9)


def test_timeseries_by_day_is_labelled_by_the_first_hour(client):
    points = get(client, "/api/timeseries", metric="metric_1", stat="count", bucket="day")["points"]
    assert [p["time"] for p in points] == ["2020-01-01T00:00:00", "2020-01-02T00:00:00"]
    assert [p["count"] for p in points] == [24 * DEVICES, (HOURS - 24) * DEVICES]
    assert [p["value"] for p in points] == [24 * DEVICES, (HOURS - 24) * DEVICES]


def test_quantiles_are_within_the_sketch_bound(client, sql):
    for stat, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        point = get(client, "/api/timeseries", metric="metric_2", stat=stat, bucket="day")["points"][0]
        exact = sql.execute(
            "SELECT quantile_cont(metric_2::DOUBLE, $q) FROM telemetry WHERE day = DATE '2020-01-01'", {"q": q}
        ).fetchone()[0]
        # 2% relative is the sketch's bound; a little more for interpolation between ranks at 9,600 rows.
        assert point["value"] == pytest.approx(exact, rel=0.03)


def test_from_is_inclusive_to_exclusive_and_equal_ends_are_empty(client):
    points = get(
        client, "/api/timeseries", metric="metric_1", **{"from": "2020-01-01T03:00:00Z", "to": "2020-01-01T05:00:00"}
    )
    assert [p["time"] for p in points["points"]] == ["2020-01-01T03:00:00", "2020-01-01T04:00:00"]
    same = get(
        client, "/api/timeseries", metric="metric_1", **{"from": "2020-01-01T03:00:00", "to": "2020-01-01T03:00:00"}
    )
    assert same == {"points": []}
    later = get(client, "/api/timeseries", metric="metric_1", **{"from": "2030-01-01T00:00:00"})
    assert later == {"points": []}


def test_a_repeated_filter_means_any_of_and_unknown_parameters_are_ignored(client):
    both = get(client, "/api/breakdown", metric="metric_1", stat="count", by="region", state=["TX", "NY"])
    assert {r["key"] for r in both["rows"]} == {"South", "Northeast"}
    plain = client.get("/api/timeseries", params={"metric": "metric_1", "colour": "blue"})
    assert plain.status_code == 200
    assert plain.json() == get(client, "/api/timeseries", metric="metric_1")


@pytest.mark.parametrize(
    ("path", "repeated"),
    [
        ("/api/timeseries", [("metric", "metric_1"), ("metric", "metric_2")]),
        ("/api/breakdown", [("metric", "metric_1"), ("by", "state"), ("by", "region")]),
        ("/api/map", [("metric", "metric_1"), ("from", "2020-01-01T00:00:00"), ("from", "2020-01-01T01:00:00")]),
        ("/api/distribution", [("metric", "metric_1"), ("bins", "10"), ("bins", "20")]),
    ],
)
def test_a_one_valued_parameter_given_twice_is_refused(client, path, repeated):
    """Only the filters mean "any of"; a second metric or range end would silently win, so it is a 422."""
    response = client.get(path, params=repeated)
    assert response.status_code == 422, response.text
    name = repeated[-1][0]
    assert response.json()["detail"][0]["loc"] == ["query", name]


# -- breakdown ---------------------------------------------------------------------------------------------


def test_breakdown_by_state_is_ordered_by_value_then_key_and_matches_sql(client, sql):
    rows = get(client, "/api/breakdown", metric="metric_4", stat="max", limit=1000)["rows"]
    assert set(rows[0]) == {"key", "value", "count"}
    assert [(-r["value"], r["key"]) for r in rows] == sorted((-r["value"], r["key"]) for r in rows)
    expected = dict(sql.execute("SELECT state, max(metric_4::DOUBLE) FROM telemetry GROUP BY state").fetchall())
    assert {r["key"]: r["value"] for r in rows} == pytest.approx(expected)


def test_breakdown_by_band_has_string_keys_and_a_limit(client):
    rows = get(client, "/api/breakdown", metric="metric_1", stat="count", by="band", limit=3)["rows"]
    assert len(rows) == 3
    assert all(isinstance(r["key"], str) for r in rows)
    everything = get(client, "/api/breakdown", metric="metric_1", stat="count", by="band")["rows"]
    assert sorted(int(r["key"]) for r in everything) == list(range(1, 11))
    assert sum(r["count"] for r in everything) == HOURS * DEVICES


def test_breakdown_compare_previous(client, sql):
    start, end = FIRST + timedelta(hours=4), FIRST + timedelta(hours=6)
    rows = get(
        client,
        "/api/breakdown",
        metric="metric_5",
        by="region",
        compare="previous",
        **{"from": hour(start), "to": hour(end)},
    )["rows"]
    before = dict(
        sql.execute(
            "SELECT region, avg(metric_5::DOUBLE) FROM telemetry WHERE hour_start >= $s AND hour_start < $e GROUP BY 1",
            {"s": FIRST + timedelta(hours=2), "e": start},
        ).fetchall()
    )
    for r in rows:
        assert r["previous"] == pytest.approx(before[r["key"]], rel=1e-9)
        assert r["change"] == pytest.approx(r["value"] - r["previous"], rel=1e-9)
    first = get(
        client,
        "/api/breakdown",
        metric="metric_5",
        by="region",
        compare="previous",
        **{"from": hour(FIRST), "to": hour(FIRST + timedelta(hours=1))},
    )["rows"]
    assert first
    assert all(r["previous"] is None and r["change"] is None for r in first)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/breakdown", {"compare": "previous", "from": "0001-01-01T00:00:00", "to": "0001-01-02T00:00:00"}),
        ("/api/map", {"compare": "previous", "from": "0001-01-01T00:00:00", "to": "2020-01-01T02:00:00"}),
        ("/api/devices/1", {"to": "0001-01-01T00:00:00"}),
    ],
)
def test_ranges_reaching_before_the_first_datetime_are_cut_there(client, path, params):
    """The previous range (or a device's default day) of a range near year 1 would start before the first
    hour a datetime holds: it is cut there instead of failing with a server error."""
    response = client.get(path, params={"metric": "metric_1", **params})
    assert response.status_code in (200, 404), response.text
    if path == "/api/breakdown":
        assert response.json() == {"rows": []}


LAST_HOUR_OF_9999 = "9999-12-31T23:00:00"


@pytest.mark.parametrize(
    "params",
    [
        {"to": LAST_HOUR_OF_9999},
        {"from": "9999-12-31T22:00:00", "to": LAST_HOUR_OF_9999},
        {"stat": "p50", "to": LAST_HOUR_OF_9999},
        {"bucket": "day", "from": "9999-12-31T22:00:00", "to": LAST_HOUR_OF_9999},
        {"compare": "previous", "from": "1000-01-01T00:00:00", "to": LAST_HOUR_OF_9999},
    ],
)
@pytest.mark.parametrize("path", ["/api/timeseries", "/api/breakdown", "/api/map", "/api/distribution"])
def test_ranges_reaching_the_last_hours_a_datetime_holds_answer(client, path, params):
    """A range ending in year 9999 is planned over the days that hold data: planning a day past it failed."""
    if path == "/api/map" and params.get("stat") == "p50":
        params = {**params, "stat": "max"}  # the map keeps no quantiles
    response = client.get(path, params={"metric": "metric_1", **params})
    assert response.status_code == 200, response.text
    if path == "/api/breakdown" and params.get("to") == LAST_HOUR_OF_9999 and "from" not in params:
        stat = params.get("stat", "avg")
        every_row = client.get(path, params={"metric": "metric_1", "stat": stat}).json()
        assert response.json() == every_row


# -- map ---------------------------------------------------------------------------------------------------


def test_map_cells_have_centres_in_the_us_and_count_every_row(client):
    answer = get(
        client,
        "/api/map",
        metric="metric_1",
        stat="count",
        **{"from": hour(LAST - timedelta(hours=3)), "to": hour(LAST + timedelta(hours=1))},
    )
    # Map rows are written without a model per cell: the body must still be the model's.
    models.MapCells.model_validate(answer)
    cells = answer["cells"]
    assert cells
    assert set(cells[0]) == {"cell", "lat", "lon", "value", "count"}
    assert sum(c["count"] for c in cells) == 4 * DEVICES
    assert all(24 < c["lat"] < 50 and -125 < c["lon"] < -66 and isinstance(c["cell"], str) for c in cells)


def test_map_compare_previous_and_arrow_agree_with_json(client):
    params = {
        "metric": "metric_9",
        "stat": "avg",
        "from": hour(LAST - timedelta(hours=1)),
        "to": hour(LAST + timedelta(hours=1)),
        "compare": "previous",
    }
    answer = get(client, "/api/map", **params)
    models.MapCells.model_validate(answer)
    cells = answer["cells"]
    assert all(set(c) == {"cell", "lat", "lon", "value", "count", "previous", "change"} for c in cells)
    assert any(c["previous"] is not None for c in cells)
    for c in cells:
        if c["previous"] is not None:
            assert c["change"] == pytest.approx(c["value"] - c["previous"])
    arrow = client.get("/api/map", params=params, headers={"Accept": ARROW})
    assert arrow.headers["content-type"] == ARROW
    table = pa.ipc.open_stream(arrow.content).read_all()
    assert table.column_names == ["cell", "lat", "lon", "value", "count", "previous", "change"]
    assert table.to_pylist() == cells


def test_timeseries_in_arrow(client):
    response = client.get("/api/timeseries", params={"metric": "metric_1"}, headers={"Accept": ARROW})
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.schema.field("time").type == pa.timestamp("s")
    json_points = get(client, "/api/timeseries", metric="metric_1")["points"]
    assert [t.strftime("%Y-%m-%dT%H:%M:%S") for t in table.column("time").to_pylist()] == [
        p["time"] for p in json_points
    ]
    assert table.column("value").to_pylist() == [p["value"] for p in json_points]


@pytest.mark.parametrize(
    ("accept", "arrow"),
    [
        (ARROW, True),
        (ARROW.upper(), True),
        (f"{ARROW}, */*;q=0.1", True),
        (f"application/json;q=0.1, {ARROW};q=0.9", True),
        (f"{ARROW};q=0", False),
        (f"application/json;q=0.9, {ARROW};q=0.1", False),
        (f"application/json, {ARROW}", False),
        ("*/*", False),
        ("application/*", False),
        ("", False),
    ],
)
def test_arrow_is_answered_when_accept_prefers_it(client, accept, arrow):
    response = client.get("/api/map", params={"metric": "metric_1"}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == (ARROW if arrow else "application/json")


def test_other_endpoints_answer_json_whatever_accept_says(client):
    response = client.get("/api/breakdown", params={"metric": "metric_1"}, headers={"Accept": ARROW})
    assert response.headers["content-type"] == "application/json"
    assert "rows" in response.json()


# -- distribution, states, devices ---------------------------------------------------------------------------


def test_distribution(client, sql):
    answer = get(client, "/api/distribution", metric="metric_6", region="West")
    assert answer["count"] == sql.execute("SELECT count(*) FROM telemetry WHERE region = 'West'").fetchone()[0]
    assert sum(b["count"] for b in answer["bins"]) == answer["count"]
    assert answer["p50"] <= answer["p90"] <= answer["p99"]
    assert all(b["lower"] <= b["upper"] for b in answer["bins"])
    empty = get(client, "/api/distribution", metric="metric_6", **{"from": "2030-01-01T00:00:00"})
    assert empty == {"p50": None, "p90": None, "p99": None, "count": 0, "bins": []}


def test_states_are_simplified_geojson_outlines(client):
    response = client.get("/api/states", headers={"Accept-Encoding": "gzip"})
    outlines = response.json()
    assert outlines["type"] == "FeatureCollection"
    assert len(outlines["features"]) == 49
    assert {f["properties"]["state"] for f in outlines["features"]} >= {"TX", "CA", "DC", "ME"}
    assert all(f["geometry"]["type"] in {"Polygon", "MultiPolygon"} for f in outlines["features"])
    assert len(response.content) < 400_000


def test_device_rows_default_to_the_newest_24_hours(client, sql):
    site = 17
    rows = get(client, f"/api/devices/{site}")["rows"]
    assert [r["datetime"] for r in rows] == [hour(LAST - timedelta(hours=k)) for k in range(23, -1, -1)]
    expected = sql.execute(
        "SELECT * EXCLUDE (date, hour, day, hour_start) FROM telemetry WHERE site = $s ORDER BY datetime DESC LIMIT 1",
        {"s": site},
    ).fetchone()
    newest = rows[-1]
    assert list(newest) == [
        "datetime",
        "region",
        "state",
        "latitude",
        "longitude",
        "site",
        "cell",
        "sector",
        "band",
        *[f"metric_{k}" for k in range(1, 21)],
    ]
    assert [newest[k] for k in list(newest)[1:]] == [
        float(v) if not isinstance(v, str | int) else v for v in expected[1:]
    ]
    models.DeviceRows.model_validate({"rows": rows})


def test_device_rows_in_a_range_and_404_and_422(client):
    rows = get(client, "/api/devices/3", **{"from": "2020-01-01T00:00:00", "to": "2020-01-01T02:00:00"})["rows"]
    assert [r["datetime"] for r in rows] == ["2020-01-01T00:00:00", "2020-01-01T01:00:00"]
    assert client.get(f"/api/devices/{DEVICES + 1}").status_code == 404
    assert client.get("/api/devices/3", params={"from": "2031-01-01T00:00:00"}).status_code == 404
    for bad in ("0", "-4", "abc", "1.5", str(2**70), "5.0", "+5", "%205", "5%20", "\u0665"):
        response = client.get(f"/api/devices/{bad}")
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["path", "site"]


def test_device_rows_follow_the_warehouses_lake_after_the_server_started(tmp_path):
    """A server started before the first convert finds the lake that convert makes, and one moved and converted
    into again is followed to its new place, as the rollup endpoints follow their store."""
    from tests.conftest import run_cli

    wh, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert run_cli("init", "--warehouse", wh, "--devices", 50).returncode == 0
    app = open_app(wh, None)
    span = {"from": "2020-01-01T00:00:00", "to": "2020-01-01T03:00:00"}
    with TestClient(app) as client:
        assert client.get("/api/devices/5", params=span).status_code == 404
        # Without a range, the newest 24 hours do not exist yet: the 404 says so, not a range from 1969.
        nothing = client.get("/api/devices/5")
        assert nothing.status_code == 404
        assert nothing.json()["detail"] == "site 5 has no rows: the lake holds no data yet"
        before = client.get("/api/health").json()["version"]
        assert run_cli("tick", "--warehouse", wh, "--out", src, "--hours", 2).returncode == 0
        assert run_cli("convert", src, lake, "--warehouse", wh).returncode == 0
        _wait_for_version_after(client, before)
        rows = get(client, "/api/devices/5", **span)["rows"]
        assert [r["datetime"] for r in rows] == ["2020-01-01T00:00:00", "2020-01-01T01:00:00"]

        moved = tmp_path / "lake_moved"
        lake.rename(moved)
        before = client.get("/api/health").json()["version"]
        assert run_cli("tick", "--warehouse", wh, "--out", src).returncode == 0
        assert run_cli("convert", src, moved, "--warehouse", wh).returncode == 0
        _wait_for_version_after(client, before)
        rows = get(client, "/api/devices/5", **span)["rows"]
        assert len(rows) == 3
        assert client.get("/api/health").json()["status"] == "ok"


def _wait_for_version_after(client: TestClient, before: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/api/health").json()["version"] == before:
        assert time.monotonic() < deadline, "the server did not follow the convert"
        time.sleep(0.1)


# -- bad input ---------------------------------------------------------------------------------------------

BAD = [
    ("/api/timeseries", {}, "metric"),
    ("/api/timeseries", {"metric": "metric_21"}, "metric"),
    ("/api/timeseries", {"metric": "metric_1", "stat": "median"}, "stat"),
    ("/api/timeseries", {"metric": "metric_1", "from": "2020-01-01T00:30:00"}, "from"),
    ("/api/timeseries", {"metric": "metric_1", "to": "2020-01-01 00:00:00"}, "to"),
    ("/api/timeseries", {"metric": "metric_1", "from": "yesterday"}, "from"),
    ("/api/timeseries", {"metric": "metric_1", "from": "2020-02-30T00:00:00"}, "from"),
    ("/api/timeseries", {"metric": "metric_1", "from": "2020-01-02T00:00:00", "to": "2020-01-01T00:00:00"}, "from"),
    ("/api/timeseries", {"metric": "metric_1", "state": "XX"}, "state"),
    ("/api/timeseries", {"metric": "metric_1", "state": "tx"}, "state"),
    ("/api/timeseries", {"metric": "metric_1", "region": "Mars"}, "region"),
    ("/api/timeseries", {"metric": "metric_1", "band": "11"}, "band"),
    ("/api/timeseries", {"metric": "metric_1", "band": "x"}, "band"),
    ("/api/timeseries", {"metric": "metric_1", "bucket": "week"}, "bucket"),
    ("/api/timeseries", {"metric": "metric_1", "stat": "p90", "band": "2"}, "band"),
    ("/api/breakdown", {"metric": "metric_1", "by": "city"}, "by"),
    ("/api/breakdown", {"metric": "metric_1", "by": "band", "stat": "p50"}, "by"),
    ("/api/breakdown", {"metric": "metric_1", "limit": "0"}, "limit"),
    ("/api/breakdown", {"metric": "metric_1", "limit": "1001"}, "limit"),
    ("/api/breakdown", {"metric": "metric_1", "compare": "previous"}, "compare"),
    ("/api/breakdown", {"metric": "metric_1", "compare": "yesterday"}, "compare"),
    ("/api/map", {"metric": "metric_1", "compare": "previous", "from": "2020-01-01T00:00:00"}, "compare"),
    ("/api/map", {"metric": "metric_1", "stat": "p99"}, "stat"),
    ("/api/map", {"metric": "metric_1", "band": "1"}, "band"),
    ("/api/distribution", {"metric": "metric_0"}, "metric"),
    ("/api/devices/5", {"from": "2020-01-01T00:00:01"}, "from"),
]


@pytest.mark.parametrize(("path", "params", "parameter"), BAD)
def test_a_bad_parameter_is_a_422_naming_it(client, path, params, parameter):
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert parameter in [e["loc"][1] for e in response.json()["detail"]]


@pytest.mark.parametrize(
    ("path", "params", "parameter", "refused"),
    [
        ("/api/timeseries", {"metric": "metric_1", "stat": "p90", "band": "2"}, "band", [2]),
        ("/api/breakdown", {"metric": "metric_1", "by": "band", "stat": "p50"}, "by", "band"),
        ("/api/map", {"metric": "metric_1", "stat": "p99"}, "stat", "p99"),
        ("/api/map", {"metric": "metric_1", "band": ["3", "1"]}, "band", [1, 3]),
        ("/api/distribution", {"metric": "metric_1", "band": "4"}, "band", [4]),
    ],
)
def test_a_question_the_store_does_not_keep_is_a_422_quoting_the_value(client, path, params, parameter, refused):
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["query", parameter]
    assert detail["input"] == refused


# -- incidents -------------------------------------------------------------------------------------------------


def test_incidents_are_the_generators_log_over_the_hours_with_data(client, served_lake):
    answer = get(client, "/api/incidents")["incidents"]
    # The generator's own list (what `duckwifi incidents` prints) over the converted hours.
    expected = list_incidents(Warehouse(served_lake.warehouse), FIRST, LAST + timedelta(hours=1))
    assert expected, "the served lake's seed must plan incidents in its hours"
    assert [i["incident_id"] for i in answer] == [e.incident_id for e in expected]
    for got, e in zip(answer, expected, strict=True):
        assert got["start_hour"] == hour(e.start_hour)
        assert got["end_hour"] == hour(e.end_hour)
        assert (got["state"], got["kind"], got["scope"]) == (e.state, e.kind, e.scope)
        assert got["severity"] == pytest.approx(e.severity)
        assert got["latitude"] == pytest.approx(float(e.latitude))
        assert got["longitude"] == pytest.approx(float(e.longitude))
    assert {i["kind"] for i in answer} == {"outage", "degradation"}
    # One that began before the first hour with data still overlaps it.
    assert any(i["start_hour"] < hour(FIRST) for i in answer)


def test_incidents_in_a_range_overlap_it(client):
    start, end = FIRST + timedelta(hours=10), FIRST + timedelta(hours=11)
    answer = get(client, "/api/incidents", **{"from": hour(start), "to": hour(end)})["incidents"]
    assert answer
    for i in answer:
        assert i["start_hour"] < hour(end)
        assert i["end_hour"] > hour(start)
    everything = get(client, "/api/incidents")["incidents"]
    assert len(answer) < len(everything)
    assert answer == [i for i in everything if i["start_hour"] < hour(end) and i["end_hour"] > hour(start)]


def test_incidents_outside_the_data_or_in_an_empty_range_are_none(client):
    after = LAST + timedelta(hours=2)
    assert get(client, "/api/incidents", **{"from": hour(after)})["incidents"] == []
    assert get(client, "/api/incidents", **{"from": hour(FIRST), "to": hour(FIRST)})["incidents"] == []
    # A range of eight thousand years is answered from the hours with data alone.
    wide = get(client, "/api/incidents", **{"from": "0001-01-01T00:00:00", "to": "9999-12-31T23:00:00"})
    assert wide == get(client, "/api/incidents")
    assert client.get("/api/incidents", params={"from": "2020-01-01T00:30:00"}).status_code == 422
    assert client.get("/api/incidents", params={"from": hour(LAST), "to": hour(FIRST)}).status_code == 422


def test_incidents_of_hours_nothing_was_converted_for_are_left_out(runner, warehouse_dir, tmp_path):
    """Hours 0-2 and 28-29 converted, not the hours between: an incident lies in the answer only if it overlaps
    an hour with data in the asked range."""
    src, lake = tmp_path / "csv", tmp_path / "lake"
    assert invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", src, "--hours", "30").exit_code == 0
    kept = {*range(3), 28, 29}
    for path in src.glob("*.csv"):
        if int(path.stem[-2:]) + 24 * (path.stem[-5:-3] == "02") not in kept:
            path.unlink()
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse_dir).exit_code == 0
    with_data = {FIRST + timedelta(hours=h) for h in kept}
    planned = list_incidents(Warehouse(warehouse_dir), FIRST, FIRST + timedelta(hours=30))
    with TestClient(open_app(warehouse_dir, lake, poll=False)) as c:
        for start, end in [
            (FIRST, FIRST + timedelta(hours=30)),
            (FIRST + timedelta(hours=2), FIRST + timedelta(hours=29)),
        ]:
            answer = get(c, "/api/incidents", **{"from": hour(start), "to": hour(end)})["incidents"]
            expected = [
                i.incident_id
                for i in planned
                if any(i.start_hour <= h < i.end_hour and start <= h < end for h in with_data)
            ]
            assert [i["incident_id"] for i in answer] == expected
            assert len(expected) < sum(1 for i in planned if i.start_hour < end and i.end_hour > start)


@pytest.mark.parametrize("generator_json", ["uniform", "missing", "damaged"])
def test_no_incidents_without_a_realistic_generator_log(served_lake, tmp_path, generator_json):
    with TestClient(altered_copy(served_lake, tmp_path, generator_json)) as c:
        response = c.get("/api/incidents")
    assert response.status_code == 200, response.text
    assert response.json() == {"incidents": []}


def test_incidents_over_a_damaged_fleet_file_are_a_503(served_lake, tmp_path):
    with TestClient(altered_copy(served_lake, tmp_path, "damaged devices")) as c:
        response = c.get("/api/incidents")
    assert response.status_code == 503
    assert "devices.parquet" in response.json()["detail"]


# -- HTTP: ETag, 304, Vary, gzip -----------------------------------------------------------------------------


def test_etag_if_none_match_vary_and_gzip(client):
    params = {"metric": "metric_1", "stat": "avg"}
    first = client.get("/api/map", params=params, headers={"Accept-Encoding": "gzip"})
    assert first.headers["vary"] == "Accept, Accept-Encoding"
    assert first.headers["content-encoding"] == "gzip"
    etag = first.headers["etag"]
    # Parameter order and unknown parameters do not change the request's identity.
    again = client.get("/api/map?stat=avg&zzz=1&metric=metric_1", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert again.content == b""
    other = client.get("/api/map", params={**params, "stat": "max"})
    assert other.headers["etag"] != etag
    arrow = client.get("/api/map", params=params, headers={"Accept": ARROW})
    assert arrow.headers["etag"] != etag
    raw = client.get("/api/map", params=params, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert json.loads(raw.content) == first.json()
    assert len(gzip.compress(raw.content)) < len(raw.content)
    small = client.get("/api/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


# -- authentication, CORS, the page ----------------------------------------------------------------------------


def test_token_guards_the_api_but_not_the_page(served_lake):
    app = open_app(served_lake.warehouse, served_lake.lake, ServeSettings(token="s3cret"), poll=False)
    with TestClient(app) as c:
        missing = c.get("/api/meta")
        assert missing.status_code == 401
        assert missing.json()["detail"] == "a bearer token is required"
        wrong = c.get("/api/meta", headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401
        assert wrong.json()["detail"] == "the bearer token is not the server's"
        assert c.get("/api/meta", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/").status_code == 200


def test_cors_origin(served_lake):
    app = open_app(
        served_lake.warehouse, served_lake.lake, ServeSettings(cors_origins=["http://example.test"]), poll=False
    )
    with TestClient(app) as c:
        allowed = c.get("/api/meta", headers={"Origin": "http://example.test"})
        assert allowed.headers["access-control-allow-origin"] == "http://example.test"
        other = c.get("/api/meta", headers={"Origin": "http://elsewhere.test"})
        assert "access-control-allow-origin" not in other.headers


def test_page_and_its_three_files_refer_to_no_other_origin(client):
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert '<link rel="icon" href="data:,">' in page.text
    for name in ("app.js", "app.css"):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", asset.text, re.IGNORECASE), name
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)
    plotly = client.get("/static/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert plotly.status_code == 200
    assert plotly.headers["content-encoding"] == "gzip"
    assert client.get("/static/secrets.txt").status_code == 404
    assert client.get("/openapi.json").json()["info"]["version"] == "1"
    assert client.get("/docs").status_code == 200


@pytest.mark.slow
def test_a_damaged_rollup_unit_read_by_a_question_is_a_503_naming_check(runner, tmp_path):
    """Hours older than the in-memory window are read from unit files when asked: one damaged after the server
    loaded is a JSON 503 naming the file and `duckwifi check --repair`, not a bare 500."""
    warehouse, src, lake = tmp_path / "wh", tmp_path / "csv", tmp_path / "lake"
    assert invoke(runner, "init", "--warehouse", warehouse, "--devices", "50", "--seed", "3").exit_code == 0
    assert invoke(runner, "tick", "--warehouse", warehouse, "--out", src, "--hours", "52").exit_code == 0
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse).exit_code == 0
    (unit,) = (warehouse / "rollups" / "units").glob("telemetry_2020-01-01_03-*")
    params = {"metric": "metric_3", "stat": "p50", "by": "state", "from": "2020-01-01T02:00:00"}
    params["to"] = "2020-01-01T05:00:00"
    with TestClient(open_app(warehouse, lake, poll=False)) as c:
        (unit / "sketch.parquet").write_bytes((unit / "sketch.parquet").read_bytes()[:100])
        response = c.get("/api/breakdown", params=params)
        assert response.status_code == 503, response.text
        detail = response.json()["detail"]
        assert str(unit / "sketch.parquet") in detail
        assert detail.endswith("`duckwifi check --repair` rebuilds them")
        assert c.get("/api/breakdown", params={**params, "stat": "avg"}).status_code == 200


def test_device_rows_default_to_the_newest_hours_with_files_after_a_forget(runner, warehouse_dir, tmp_path):
    """`forget` of the newest source leaves its hour's folders, empty: the default range ends at the newest hour
    that still holds rows, not at the empty folder."""
    src, lake = tmp_path / "csv", tmp_path / "lake"
    assert invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", src, "--hours", "30").exit_code == 0
    for path in sorted(src.glob("*.csv"))[3:-1]:
        path.unlink()
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse_dir).exit_code == 0
    newest = sorted(src.glob("*.csv"))[-1]
    assert invoke(runner, "forget", newest, "--warehouse", warehouse_dir).exit_code == 0
    assert (lake / "date=02-01-20" / "hour=5").is_dir()
    with TestClient(open_app(warehouse_dir, lake, poll=False)) as c:
        response = c.get("/api/devices/1")
    assert response.status_code == 200, response.text
    assert [r["datetime"] for r in response.json()["rows"]] == [hour(FIRST + timedelta(hours=h)) for h in range(3)]


def test_device_rows_of_a_lake_emptied_under_the_server_are_a_503(runner, warehouse_dir, tmp_path):
    """A disk unmounted under a running server leaves an empty folder: a 503 saying the lake is gone, not a 404
    saying the lake holds no data yet."""
    src, lake = tmp_path / "csv", tmp_path / "lake"
    assert invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", src).exit_code == 0
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse_dir).exit_code == 0
    span = {"from": "2020-01-01T00:00:00", "to": "2020-01-01T01:00:00"}
    with TestClient(open_app(warehouse_dir, lake, poll=False)) as c:
        assert c.get("/api/devices/1", params=span).status_code == 200
        lake.rename(tmp_path / "elsewhere")
        lake.mkdir()
        # The same question, whose answer is cached, and one defaulting to the newest hours.
        for params in (span, {}):
            response = c.get("/api/devices/1", params=params)
            assert response.status_code == 503, response.text
            assert response.json()["detail"].startswith(f"the lake {lake} is gone")


def test_device_rows_over_a_damaged_lake_file_are_a_503_naming_check(runner, warehouse_dir, tmp_path):
    src, lake = tmp_path / "csv", tmp_path / "lake"
    assert invoke(runner, "tick", "--warehouse", warehouse_dir, "--out", src).exit_code == 0
    assert invoke(runner, "convert", src, lake, "--warehouse", warehouse_dir).exit_code == 0
    damaged = sorted(lake.rglob("*.parquet"))[0]
    with duckdb.connect() as con:
        (site,) = con.execute("SELECT min(site) FROM read_parquet($f)", {"f": str(damaged)}).fetchone()
    damaged.write_bytes(damaged.read_bytes()[:300])
    with TestClient(open_app(warehouse_dir, lake, poll=False)) as c:
        response = c.get(f"/api/devices/{site}", params={"from": "2020-01-01T00:00:00", "to": "2020-01-01T01:00:00"})
    assert response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert str(damaged) in detail
    assert detail.endswith("`duckwifi check` lists missing and damaged lake files")
