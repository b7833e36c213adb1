"""The realistic profile (issue 11): catalogue, determinism, distributions, ranges, cycles, incidents, faults.

Distribution tests use a Kolmogorov-Smirnov distance computed by hand against each family's distribution
function, with the planned spread from the catalogue and only the location (which the hour's cycle moves)
fitted per time zone. Values are printed rounded, so the distance is taken at the rounded values' support
points against the distribution of the rounded variable (F(x + unit/2) after a tie, F(x - unit/2) before it),
which is exact for rounded data. The test takes the two largest time zones of a 60,000-device fleet (12,689
and 24,023 healthy devices at seed 7). Tolerance: D <= 0.015, about the 1% critical value of the KS distance
for 12,000 values (1.63 / sqrt(n) = 0.0145); at seed 7 the largest D of the 19 fitted metrics is 0.008, and a
wrong family (normal for a lognormal, exponential for the uniform uptime) gives D > 0.05.
"""

from __future__ import annotations

import csv
import hashlib
import math
from datetime import datetime, timedelta
from pathlib import Path
from statistics import NormalDist

import duckdb
import numpy as np
import pytest

from duckwifi.contract import FIRST_HOUR, LAST_HOUR, METRIC_COLUMNS
from duckwifi.errors import ExitCode
from duckwifi.generator import realistic
from duckwifi.generator.catalogue import (
    LOG_SPREAD,
    METRICS,
    UPTIME_PERIOD_HOURS,
    Metric,
    by_name,
    catalogue_for,
    extremes,
)
from duckwifi.generator.incidents import Incident, list_incidents
from duckwifi.warehouse import Warehouse, work_connection
from tests.conftest import invoke, run_cli

START = datetime(2020, 1, 1)
KS_TOLERANCE = 0.015
# The uniform profile's first two hours for 300 devices, seed 5, as written by the code before issue 11
# (commit b2c5ac3) with DuckDB 2.0.1: the uniform profile must keep writing exactly these bytes.
UNIFORM_GOLDEN_SHA256 = [
    "be9e6153df4aa519649bded07aff7afaca9a96b4311adcc245fd4822e1269814",
    "a08f50637015dd4b6593101127df2dd523e088976f254d993cb4ed2fd77b4aed",
]


def _init(runner, root: Path, devices: int, seed: int = 7, *extra: str) -> Warehouse:
    result = invoke(runner, "init", "--warehouse", root, "--devices", devices, "--seed", seed, *extra)
    assert result.exit_code == 0, result.output
    return Warehouse(root)


def _write(
    warehouse: Warehouse, hours: list[datetime], target: Path, incidents: list[Incident] | None = None
) -> list[Path]:
    """Write ``hours`` (in the order given) through the library, as a parallel worker would."""
    target.mkdir(parents=True, exist_ok=True)
    (devices,) = duckdb.execute(
        "SELECT count(*) FROM read_parquet($d)", {"d": str(warehouse.devices_parquet)}
    ).fetchone()
    written = []
    with work_connection(warehouse) as work:
        realistic.prepare(
            work,
            seed=7,
            devices=devices,
            devices_parquet=str(warehouse.devices_parquet),
            first_hour=min(hours),
            last_hour=max(hours) + timedelta(hours=1),
            incidents=incidents,
        )
        for hour in hours:
            path = target / f"{hour:%Y%m%d%H}.csv"
            realistic.write_hour(
                work, seed=7, hour=hour, devices_parquet=str(warehouse.devices_parquet), target=str(path)
            )
            written.append(path)
    return written


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))[1:]


# --- the catalogue ---------------------------------------------------------------------------------------


def test_the_catalogue_names_twenty_metrics_that_fit_the_lake() -> None:
    assert [m.column for m in METRICS] == list(METRIC_COLUMNS)
    assert len({m.name for m in METRICS}) == 20
    for metric in METRICS:
        assert metric.unit
        assert 0 <= metric.decimals <= 4
        # The lake stores DECIMAL(9,4): |x| < 100,000.
        assert -100_000 < metric.lower < metric.upper < 100_000
        if metric.family == "lognormal":
            assert abs(metric.spread) == LOG_SPREAD, "init stores one gain per score: spread is +-LOG_SPREAD"
    assert by_name("latency").unit == "ms"
    assert catalogue_for("uniform")[0].family == "uniform"


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
def test_no_value_can_leave_its_physical_range(metric: Metric) -> None:
    """The model never clips: its extremes, from the parameters and the tables' limits, lie inside the range."""
    low, high = extremes(metric)
    assert metric.lower <= low
    assert high <= metric.upper


def test_status_shows_the_profile_and_the_catalogue(runner, tmp_path: Path) -> None:
    _init(runner, tmp_path / "wh", 50)
    status = invoke(runner, "status", "--warehouse", tmp_path / "wh").stdout
    assert "profile: realistic" in status
    assert "metric_6: latency (ms, lognormal, 0.5 to 10000)" in status
    assert sum(line.startswith("metric_") for line in status.splitlines()) == 20
    _init(runner, tmp_path / "wu", 50, 7, "--profile", "uniform")
    status = invoke(runner, "status", "--warehouse", tmp_path / "wu").stdout
    assert "profile: uniform" in status
    assert "metric_6: metric_6 (1, uniform, 0 to 100)" in status


def test_an_unknown_profile_is_a_usage_error(runner, tmp_path: Path) -> None:
    result = invoke(runner, "init", "--warehouse", tmp_path / "wh", "--devices", 10, "--profile", "bogus")
    assert result.exit_code == ExitCode.USAGE
    assert "--profile must be one of realistic, uniform" in result.stderr


# --- determinism -------------------------------------------------------------------------------------------


def test_the_uniform_profile_writes_the_same_bytes_as_before(runner, tmp_path: Path) -> None:
    _init(runner, tmp_path / "wh", 300, 5, "--profile", "uniform")
    invoke(runner, "tick", "--warehouse", tmp_path / "wh", "--out", tmp_path / "csv", "--hours", 2)
    files = sorted((tmp_path / "csv").glob("*.csv"))
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in files] == UNIFORM_GOLDEN_SHA256


def test_same_seed_same_bytes_and_hours_out_of_order_equal_hours_in_order(runner, tmp_path: Path) -> None:
    a = _init(runner, tmp_path / "a", 400)
    b = _init(runner, tmp_path / "b", 400)
    for name in ("a", "b"):
        invoke(runner, "tick", "--warehouse", tmp_path / name, "--out", tmp_path / f"csv_{name}", "--hours", 4)
    in_order = [p.read_bytes() for p in sorted((tmp_path / "csv_a").glob("*.csv"))]
    assert in_order == [p.read_bytes() for p in sorted((tmp_path / "csv_b").glob("*.csv"))]
    hours = [START + timedelta(hours=h) for h in (3, 1, 0, 2)]
    shuffled = dict(zip(hours, _write(b, hours, tmp_path / "shuffled"), strict=True))
    assert [shuffled[h].read_bytes() for h in sorted(hours)] == in_order
    # A single hour alone, on its own connection, is the same too.
    (alone,) = _write(a, [START + timedelta(hours=2)], tmp_path / "alone")
    assert alone.read_bytes() == in_order[2]
    assert len(set(in_order)) == 4


# --- distributions and ranges -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_hour(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Path, Path]:
    """A 60,000-device fleet: the hour 2020-01-06 18:00 UTC as ticked (with its incidents) and incident-free."""
    root = tmp_path_factory.mktemp("big")
    result = run_cli(
        "init", "--warehouse", root / "wh", "--devices", 60_000, "--seed", 7, "--start", "2020-01-06 18:00"
    )
    assert result.returncode == 0, result.stderr
    warehouse = Warehouse(root / "wh")
    result = run_cli("tick", "--warehouse", warehouse.root, "--out", root / "csv")
    assert result.returncode == 0, result.stderr
    (ticked,) = sorted((root / "csv").glob("*.csv"))
    (quiet,) = _write(warehouse, [datetime(2020, 1, 6, 18)], root / "quiet", incidents=[])
    return warehouse, ticked, quiet


def _healthy_by_zone(warehouse: Warehouse, path: Path) -> dict[tuple[int, bool], np.ndarray]:
    """Metric values of devices without a fault, grouped by time zone (all share the hour's cycle)."""
    rows = duckdb.execute(
        "SELECT d.utc_offset, d.observes_dst, c.* EXCLUDE (datetime, region, state, latitude, longitude, site, "
        "cell, sector, band) FROM read_csv($p, all_varchar = true) AS c "
        "JOIN read_parquet($d) AS d ON c.site::BIGINT = d.site WHERE d.fault = 0",
        {"p": str(path), "d": str(warehouse.devices_parquet)},
    ).fetchall()
    groups: dict[tuple[int, bool], list] = {}
    for offset, dst, *values in rows:
        groups.setdefault((offset, dst), []).append([float(v) for v in values])
    return {zone: np.array(values) for zone, values in groups.items()}


def _ks_rounded(values: np.ndarray, cdf, unit: float) -> float:
    """KS distance between rounded ``values`` and the distribution ``cdf`` rounded to ``unit``."""
    support, counts = np.unique(values, return_counts=True)
    after = np.cumsum(counts) / len(values)
    before = after - counts / len(values)
    upper = np.array([cdf(x + unit / 2) for x in support])
    lower = np.array([cdf(x - unit / 2) for x in support])
    return float(max(np.max(np.abs(after - upper)), np.max(np.abs(before - lower))))


def _distance(metric: Metric, values: np.ndarray) -> float:
    unit = 10.0**-metric.decimals
    if metric.family == "normal":
        sd = math.hypot(metric.spread, metric.noise)
        return _ks_rounded(values, NormalDist(float(values.mean()), sd).cdf, unit)
    if metric.family == "lognormal":
        sd = math.hypot(LOG_SPREAD, metric.noise)
        log_normal = NormalDist(float(np.log(values).mean()), sd)
        return _ks_rounded(values, lambda x: log_normal.cdf(math.log(x)) if x > 0 else 0.0, unit)
    if metric.family == "exponential":
        mean = float(values.mean())
        return _ks_rounded(values, lambda x: 1 - math.exp(-x / mean) if x > 0 else 0.0, unit)
    days = UPTIME_PERIOD_HOURS / 24
    return _ks_rounded(values, lambda x: min(max(x / days, 0.0), 1.0), unit)


FITTED = [m for m in METRICS if m.family in ("normal", "lognormal", "exponential", "uniform")]


@pytest.mark.slow
@pytest.mark.parametrize("metric", FITTED, ids=lambda m: m.name)
def test_each_metric_fits_its_family(big_hour, metric: Metric) -> None:
    warehouse, _ticked, quiet = big_hour
    column = METRICS.index(metric)
    zones = _healthy_by_zone(warehouse, quiet)
    largest = sorted(zones.values(), key=len)[-2:]
    for group in largest:
        assert len(group) > 10_000
        assert _distance(metric, group[:, column]) <= KS_TOLERANCE


@pytest.mark.slow
def test_the_fit_test_rejects_the_wrong_family(big_hour) -> None:
    warehouse, _ticked, quiet = big_hour
    group = max(_healthy_by_zone(warehouse, quiet).values(), key=len)
    latency = by_name("latency")
    as_normal = Metric(**{**latency.__dict__, "family": "normal", "spread": 0.0, "noise": float(group[:, 5].std())})
    assert _distance(as_normal, group[:, 5]) > 0.05
    uptime = by_name("uptime")
    assert _distance(Metric(**{**uptime.__dict__, "family": "exponential"}), group[:, 15]) > 0.05


@pytest.mark.slow
def test_reboots_happen_once_per_uptime_period_on_healthy_devices(big_hour) -> None:
    warehouse, _ticked, quiet = big_hour
    reboots = np.concatenate([g[:, 9] for g in _healthy_by_zone(warehouse, quiet).values()])
    expected = len(reboots) / UPTIME_PERIOD_HOURS
    assert set(np.unique(reboots)) <= {0.0, 1.0}
    assert abs(reboots.sum() - expected) <= 4 * math.sqrt(expected)


@pytest.mark.slow
def test_values_never_leave_their_physical_range(big_hour, tmp_path: Path) -> None:
    warehouse, ticked, _quiet = big_hour
    # Also the hour of the next outage, so that the extremes include an incident's at full severity.
    outage = next(i for i in list_incidents(warehouse, START, START + timedelta(days=14)) if i.kind == "outage")
    (stormy,) = _write(warehouse, [outage.start_hour], tmp_path / "stormy")
    bounds = ", ".join(f"count(*) FILTER (WHERE {m.column} < {m.lower} OR {m.column} > {m.upper})" for m in METRICS)
    for path in (ticked, stormy):
        outside = duckdb.execute(f"SELECT {bounds} FROM read_csv($p)", {"p": str(path)}).fetchone()
        assert outside == (0,) * 20


# --- cycles ------------------------------------------------------------------------------------------------


def test_the_evening_peak_is_at_the_same_local_hour_in_every_state(runner, tmp_path: Path) -> None:
    _init(runner, tmp_path / "wh", 6000)
    invoke(runner, "tick", "--warehouse", tmp_path / "wh", "--out", tmp_path / "csv", "--hours", 48)
    utilisation = by_name("channel_utilisation").column
    throughput = by_name("downstream_throughput").column
    rows = duckdb.execute(
        f"SELECT c.state, any_value(d.utc_offset), hour(c.datetime) AS utc_hour, count(*), "
        f"avg(c.{utilisation}), avg(c.{throughput}) FROM read_csv($p) AS c "
        "JOIN read_parquet($d) AS d ON c.site = d.site WHERE d.fault = 0 GROUP BY ALL",
        {"p": str(tmp_path / "csv" / "*.csv"), "d": str(tmp_path / "wh" / "devices.parquet")},
    ).fetchall()
    states: dict[str, dict[int, tuple[float, float]]] = {}
    for state, offset, utc_hour, count, busy, speed in rows:
        if count >= 2 * 80:  # states with at least 80 devices, over two days
            states.setdefault(state, {})[(utc_hour + offset) % 24] = (busy, speed)
    assert len(states) >= 15
    for state, by_local_hour in states.items():
        assert len(by_local_hour) == 24
        busiest = max(by_local_hour, key=lambda h: by_local_hour[h][0])
        slowest = min(by_local_hour, key=lambda h: by_local_hour[h][1])
        assert busiest in (20, 21, 22), (state, busiest)
        assert slowest in (19, 20, 21, 22), (state, slowest)
        # Utilisation at the peak against 04:00: the cycle's 35 points times (1.00 - 0.05).
        assert by_local_hour[busiest][0] - by_local_hour[4][0] > 25


# --- incidents -----------------------------------------------------------------------------------------------


def _planted(scope: str, **where: object) -> Incident:
    hour = datetime(2020, 1, 2, 1)
    return Incident(
        incident_id=1,
        scope=scope,
        kind="outage",
        severity=1.0,
        start_hour=hour,
        end_hour=hour + timedelta(hours=2),
        state=where.get("state"),
        area=where.get("area"),
        cell=where.get("cell"),
        sector=where.get("sector"),
    )


def _assert_moved_by_plan(with_incident: list[str], without: list[str], severity: float) -> None:
    for metric, moved, calm in zip(METRICS, with_incident[9:], without[9:], strict=True):
        unit = 10.0**-metric.decimals
        if metric.incident == 0:
            assert moved == calm, metric.name
        elif metric.family == "normal":
            assert abs(float(moved) - (float(calm) + metric.incident * severity)) <= unit + 1e-9, metric.name
        else:
            factor = 1 + metric.incident * severity
            assert abs(float(moved) - float(calm) * factor) <= unit / 2 * (1 + factor) + 1e-9, metric.name


def test_a_planted_incident_moves_its_devices_by_the_plan_and_no_others(runner, tmp_path: Path) -> None:
    warehouse = _init(runner, tmp_path / "wh", 3000)
    devices = {
        row[0]: row[1:]
        for row in duckdb.execute(
            "SELECT site, state, cell, sector, fault FROM read_parquet($d)", {"d": str(warehouse.devices_parquet)}
        ).fetchall()
    }
    state = max({s for s, *_ in devices.values()}, key=lambda s: sum(v[0] == s for v in devices.values()))
    cell, sector = next(d[1:3] for d in devices.values() if d[0] == state and d[3] == 0)
    hour = datetime(2020, 1, 2, 1)
    for planted, affected in (
        (_planted("state", state=state), lambda d: d[0] == state),
        (_planted("sector", state=state, cell=cell, sector=sector), lambda d: d[:3] == (state, cell, sector)),
    ):
        (calm,) = _write(warehouse, [hour], tmp_path / "calm", incidents=[])
        (hit,) = _write(warehouse, [hour], tmp_path / f"hit_{planted.scope}", incidents=[planted])
        moved = 0
        for with_incident, without in zip(_read(hit), _read(calm), strict=True):
            device = devices[int(without[5])]
            if affected(device) and device[3] != 1:  # a stuck device (fault 1) ignores incidents
                _assert_moved_by_plan(with_incident, without, planted.severity)
                moved += 1
            else:
                assert with_incident == without
        assert moved > 0


def test_incidents_are_planned_from_the_seed_and_listed(runner, tmp_path: Path) -> None:
    warehouse = _init(runner, tmp_path / "wh", 2000)
    week = list_incidents(warehouse, START, START + timedelta(days=7))
    assert {i.scope for i in week} == {"sector", "area", "state"}
    assert {i.kind for i in week} == {"outage", "degradation"}
    assert all(i.end_hour > START and i.start_hour < START + timedelta(days=7) for i in week)
    assert all(1 <= (i.end_hour - i.start_hour).total_seconds() / 3600 <= 10 for i in week)
    again = list_incidents(warehouse, START, START + timedelta(days=7))
    assert again == week
    other = _init(runner, tmp_path / "other", 2000, 8)
    assert list_incidents(other, START, START + timedelta(days=7)) != week

    printed = run_cli("incidents", "--warehouse", warehouse.root, "--from", "2020-01-01", "--to", "2020-01-08")
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert lines[0] == "incident_id,scope,kind,severity,start_hour,end_hour,state,area,cell,sector,latitude,longitude"
    assert len(lines) == 1 + len(week)
    assert lines[1].split(",")[4] == f"{week[0].start_hour:%Y-%m-%d %H:%M:%S}"
    # The API's form of an hour works too, an empty range is a header alone (as the API answers it), and a
    # time that is not a whole hour is refused, as the API refuses it.
    api_form = run_cli(
        "incidents", "--warehouse", warehouse.root, "--from", "2020-01-01T00:00:00", "--to", "2020-01-08"
    )
    assert api_form.stdout == printed.stdout
    empty = run_cli("incidents", "--warehouse", warehouse.root, "--from", "2020-01-02", "--to", "2020-01-02")
    assert (empty.returncode, empty.stdout.splitlines()) == (0, lines[:1])
    # Only the clock's century (1969-2068) can hold data: a range reaching beyond it lists what lies inside,
    # without planning the years outside (1900-9999 took 22 GB and was killed).
    week_after_first = FIRST_HOUR + timedelta(days=7)
    assert list_incidents(warehouse, datetime(1900, 1, 1), week_after_first) == list_incidents(
        warehouse, FIRST_HOUR, week_after_first
    )
    week_before_end = LAST_HOUR - timedelta(days=7)
    assert list_incidents(warehouse, week_before_end, datetime(9999, 1, 1)) == list_incidents(
        warehouse, week_before_end, LAST_HOUR + timedelta(hours=1)
    )
    assert list_incidents(warehouse, datetime(2100, 1, 1), datetime(9999, 1, 1)) == []
    beyond = run_cli("incidents", "--warehouse", warehouse.root, "--from", "2100-01-01", "--to", "9999-01-01")
    assert (beyond.returncode, beyond.stdout.splitlines()) == (0, lines[:1])
    half = run_cli("incidents", "--warehouse", warehouse.root, "--from", "2020-01-01 00:30:00")
    assert half.returncode == 2
    assert half.stderr.strip() == (
        "duckwifi: error: --from 2020-01-01 00:30:00 is not a whole hour; incidents are planned by hour"
    )


def test_a_scheduled_incident_is_visible_where_it_was_planted(runner, tmp_path: Path) -> None:
    warehouse = _init(runner, tmp_path / "wh", 3000)
    states = [i for i in list_incidents(warehouse, START, START + timedelta(days=14)) if i.scope == "state"]
    incident = states[0]
    (calm,) = _write(warehouse, [incident.start_hour], tmp_path / "calm", incidents=[])
    (scheduled,) = _write(warehouse, [incident.start_hour], tmp_path / "scheduled")
    latency = by_name("latency").column
    ratios = duckdb.execute(
        f"SELECT c.state = $s, avg(s.{latency} / c.{latency}) FROM read_csv($calm) AS c "
        f"JOIN read_csv($scheduled) AS s USING (site) GROUP BY ALL",
        {"calm": str(calm), "scheduled": str(scheduled), "s": incident.state},
    ).fetchall()
    ratio = dict(ratios)
    assert ratio[True] > 1 + 0.8 * by_name("latency").incident * incident.severity
    assert ratio[False] < 1.2  # elsewhere only the other incidents of that hour, small and local


def test_a_uniform_warehouse_has_no_incidents(runner, tmp_path: Path) -> None:
    _init(runner, tmp_path / "wh", 100, 7, "--profile", "uniform")
    printed = run_cli("incidents", "--warehouse", tmp_path / "wh")
    assert printed.returncode == 0
    assert printed.stdout.splitlines() == [
        "incident_id,scope,kind,severity,start_hour,end_hour,state,area,cell,sector,latitude,longitude"
    ]


@pytest.mark.parametrize("content", ["{bad", '{"seed": "x"}', "[]"], ids=["not JSON", "wrong value", "not an object"])
def test_a_damaged_generator_log_is_one_line_and_exit_5(runner, tmp_path: Path, content: str) -> None:
    _init(runner, tmp_path / "wh", 100, 7)
    (tmp_path / "wh" / "generator.json").write_text(content)
    printed = run_cli("incidents", "--warehouse", tmp_path / "wh")
    assert printed.returncode == ExitCode.CORRUPT, printed.stderr
    assert printed.stderr.count("\n") == 1
    assert printed.stderr.startswith("duckwifi: error: ")
    assert "generator.json" in printed.stderr


# --- faults ------------------------------------------------------------------------------------------------


def test_stuck_devices_repeat_themselves_and_loops_reboot_often(runner, tmp_path: Path) -> None:
    warehouse = _init(runner, tmp_path / "wh", 5000)
    invoke(runner, "tick", "--warehouse", warehouse.root, "--out", tmp_path / "csv", "--hours", 3)
    faults = dict(
        duckdb.execute("SELECT site, fault FROM read_parquet($d)", {"d": str(warehouse.devices_parquet)}).fetchall()
    )
    hours = [_read(p) for p in sorted((tmp_path / "csv").glob("*.csv"))]
    stuck = [s for s, f in faults.items() if f == 1]
    looping = [s for s, f in faults.items() if f == 2]
    assert 0 < len(stuck) < 50
    assert 0 < len(looping) < 50
    for site in stuck:
        assert hours[0][site - 1][9:] == hours[1][site - 1][9:] == hours[2][site - 1][9:]
    reboots = by_name("reboots").column
    column = METRIC_COLUMNS.index(reboots) + 9
    assert sum(int(h[s - 1][column]) for h in hours for s in looping) >= len(looping) * 3 / 4
    healthy = [s for s, f in faults.items() if f == 0]
    assert hours[0][healthy[0] - 1][9:] != hours[1][healthy[0] - 1][9:]


def test_a_warehouse_from_before_profiles_reads_as_uniform(runner, tmp_path: Path) -> None:
    root = tmp_path / "wh"
    _init(runner, root, 50, 7, "--profile", "uniform")
    with duckdb.connect(str(Warehouse(root).state_database)) as con:
        con.execute("ALTER TABLE generator DROP COLUMN profile")
        con.execute("DROP TABLE metric_catalogue")
    status = invoke(runner, "status", "--warehouse", root)
    assert status.exit_code == 0, status.output
    assert "profile: uniform" in status.stdout
    ticked = invoke(runner, "tick", "--warehouse", root, "--out", tmp_path / "csv")
    assert ticked.exit_code == 0, ticked.output
