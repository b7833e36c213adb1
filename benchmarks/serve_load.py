"""A bounded load test of `duckwifi serve` on loopback: N clients for S seconds, mixing the data endpoints.

    flock /work/bench.lock .venv/bin/python -m benchmarks.serve_load --warehouse W --clients 16 --seconds 30 \\
        [--mix random|page] [--think-ms MS] [--kinds timeseries,breakdown,...] \\
        [--convert-during CSV_DIR LAKE | --convert-beside W2 CSV_DIR LAKE] [--out docs/benchmarks]

The server runs as its own process (`duckwifi serve --port 0`); the clients are threads of this process, each
with one keep-alive connection, sending only to 127.0.0.1. Requests are drawn at random (metric, stat, filters,
range start), so most miss the server's answer cache and reach the query library. By default a client sends
its next request as soon as an answer arrives, which saturates the server: latency is then mostly queueing
(16 clients over N requests/s wait 16/N s on average). ``--think-ms`` makes each client a person at a page:
after each answer it waits a think time drawn from an exponential distribution of that mean, so the latency
measured is a request's own, under the load that many viewers offer. ``--kinds`` picks the endpoints mixed:
the page asks only for the four rollup ones, and ``devices`` (raw Parquet, an operator's drill-down) costs
far more CPU per request. ``--mix page`` makes each client a viewer of the page instead: it changes one
selector (metric, statistic, place, band, range, map mode), asks for the four panels at once with the page's
own parameters (app.js), and records the time until all four have answered as ``page``; viewers who make the
same choices share cached answers, as they would. ``--convert-during`` writes
one more hour with `tick` before the load starts and converts it while the load runs. ``--convert-beside``
converts CSV_DIR (hours already written, e.g. one 20M-device hour) into another warehouse W2 while the load
runs: the served data does not change, but the server shares the cores with a convert of that size. Every national count
time series is checked to hold whole hours only (each hour's count equal to the fleet's), so a reader that saw
a source's rollups in part would be counted. Reports p50, p95, p99 per endpoint, requests per second, errors.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlparse

METRICS = [f"metric_{k}" for k in range(1, 21)]
STATS = ["count", "avg", "min", "max", "stddev", "p50", "p90", "p99"]
MAP_STATS = ["count", "avg", "min", "max"]
STATES = ["TX", "CA", "NY", "FL", "IL", "PA", "OH", "GA", "WA", "CO"]
REGIONS = ["Midwest", "Northeast", "South", "West"]
FORMAT = "%Y-%m-%dT%H:%M:%S"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DUCKWIFI_")}


@dataclass
class Plan:
    first: datetime
    last: datetime
    devices: int
    states: list[str] = field(default_factory=list)

    def hour(self, rng: random.Random) -> datetime:
        span = int((self.last - self.first).total_seconds() // 3600)
        return self.first + timedelta(hours=rng.randint(0, span))


def _request(kind: str, plan: Plan, rng: random.Random) -> tuple[str, bool]:
    """(path with query, whether to check the answer for whole hours)."""
    end = plan.last + timedelta(hours=1)
    metric = rng.choice(METRICS)
    if kind == "timeseries":
        if rng.random() < 0.25:
            return "/api/timeseries?" + urlencode({"metric": metric, "stat": "count"}), True
        params: dict[str, str] = {"metric": metric, "stat": rng.choice(STATS)}
        if rng.random() < 0.5:
            params["state"] = rng.choice(STATES)
        params["from"] = plan.hour(rng).strftime(FORMAT)
        return "/api/timeseries?" + urlencode(params), False
    if kind == "breakdown":
        start = plan.hour(rng)
        params = {"metric": metric, "stat": rng.choice(STATS), "by": rng.choice(["state", "region"])}
        params |= {"from": start.strftime(FORMAT), "to": end.strftime(FORMAT)}
        if rng.random() < 0.3:
            params["compare"] = "previous"
        return "/api/breakdown?" + urlencode(params), False
    if kind == "map":
        hours = rng.randint(1, 24)
        params = {"metric": metric, "stat": rng.choice(MAP_STATS)}
        params |= {"from": (end - timedelta(hours=hours)).strftime(FORMAT), "to": end.strftime(FORMAT)}
        return "/api/map?" + urlencode(params), False
    if kind == "distribution":
        params = {"metric": metric, "from": plan.hour(rng).strftime(FORMAT)}
        if rng.random() < 0.5:
            params["region"] = rng.choice(REGIONS)
        return "/api/distribution?" + urlencode(params), False
    return f"/api/devices/{rng.randint(1, plan.devices)}", False


KINDS = ["timeseries", "breakdown", "map", "distribution", "devices"]
# The page mix records, beside each panel's request, the time until all four panels had their answers.
PAGE_KINDS = ["timeseries", "breakdown", "map", "distribution", "page"]


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in [*KINDS, "page"]})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys([*KINDS, "page"], 0))
    partial_answers: int = 0
    versions: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Connection:
    """One keep-alive connection to the server, reopened after a failure."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self._address = (parsed.hostname, parsed.port)
        self._connection = self._open()

    def _open(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(*self._address, timeout=30)

    def get(self, path: str) -> tuple[float, int, bytes]:
        """(seconds, status, body); status 0 when the request failed.

        A connection left idle longer than the server's keep-alive (uvicorn's 5 s, which a think time can
        exceed) is closed by the server; as a browser does, the request is sent again once on a new one.
        """
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self._connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
                response = self._connection.getresponse()
                return time.perf_counter() - started, response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._connection.close()
                self._connection = self._open()
                if attempt == 1:
                    break
            except (OSError, http.client.HTTPException):
                self._connection.close()
                self._connection = self._open()
                break
        return time.perf_counter() - started, 0, b""

    def close(self) -> None:
        self._connection.close()


def _record(results: Results, kind: str, elapsed: float, status: int, partial: bool = False) -> None:
    bad = status != 200 and not (kind == "devices" and status == 404)
    with results.lock:
        results.latencies[kind].append(elapsed)
        results.errors[kind] += int(bad)
        results.partial_answers += int(partial)


def _think(rng: random.Random, think_s: float, deadline: float) -> bool:
    """Wait a think time of mean ``think_s``; False when the load's time is up."""
    if think_s > 0:
        time.sleep(rng.expovariate(1 / think_s))
    return time.monotonic() < deadline


def _client(
    url: str, plan: Plan, deadline: float, seed: int, results: Results, think_s: float, kinds: list[str]
) -> None:
    rng = random.Random(seed)
    connection = _Connection(url)
    while _think(rng, think_s, deadline):
        kind = rng.choice(kinds)
        path, check_whole = _request(kind, plan, rng)
        elapsed, status, body = connection.get(path)
        partial = False
        if check_whole and status == 200:
            points = json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)["points"]
            partial = any(p["count"] != plan.devices for p in points)
        _record(results, kind, elapsed, status, partial)
    connection.close()


@dataclass
class PageState:
    """What one viewer of the page has chosen, as the page's selectors (duckwifi/api/static/app.js)."""

    metric: str = "metric_1"
    stat: str = "avg"
    place: tuple[str, str] | None = None  # ("region" or "state", code)
    band: str | None = None
    range: str = "24h"
    map_change: bool = False

    def change_one(self, rng: random.Random, plan: Plan) -> None:
        """The viewer changes one selector, as a person does between looks."""
        choice = rng.choice(["metric", "stat", "place", "band", "range", "map"])
        if choice == "metric":
            self.metric = rng.choice(METRICS)
        elif choice == "stat":
            self.stat = rng.choice(STATS)
        elif choice == "place":
            self.place = rng.choice([None, *(("region", r) for r in REGIONS), *(("state", s) for s in plan.states)])
        elif choice == "band":
            self.band = rng.choice([None, *(str(b) for b in range(1, 11))])
        elif choice == "range":
            self.range = rng.choice(["24h", "7d", "30d"])
        else:
            self.map_change = not self.map_change

    def requests(self, plan: Plan) -> list[tuple[str, str]]:
        """(kind, path) of the four panels the page draws for these choices, with the page's own parameters."""
        end = plan.last + timedelta(hours=1)
        if self.range == "24h":
            start, bucket = end - timedelta(hours=24), "hour"
        else:
            days = 7 if self.range == "7d" else 30
            end = datetime.combine(end.date(), datetime.min.time()) + (timedelta(days=1) if end.hour else timedelta())
            start, bucket = end - timedelta(days=days), "day" if days > 7 else "hour"
        span = {"from": start.strftime(FORMAT), "to": end.strftime(FORMAT)}
        region = {"region": self.place[1]} if self.place and self.place[0] == "region" else {}
        state = {"state": self.place[1]} if self.place and self.place[0] == "state" else {}
        quantile = self.stat.startswith("p")
        band = {"band": self.band} if self.band and not quantile else {}
        map_stat = self.stat if self.stat in MAP_STATS else "avg"
        timeseries = {"metric": self.metric, "stat": self.stat, **span, "bucket": bucket, **region, **state, **band}
        cells = {"metric": self.metric, "stat": map_stat, **span, **region, **state}
        if self.map_change:
            cells["compare"] = "previous"
        ranked = {"metric": self.metric, "stat": self.stat, "by": "state", "limit": "60", **span}
        ranked |= {"compare": "previous", **region, **band}
        spread = {"metric": self.metric, **span, **region, **state}
        return [
            ("timeseries", "/api/timeseries?" + urlencode(timeseries)),
            ("map", "/api/map?" + urlencode(cells)),
            ("breakdown", "/api/breakdown?" + urlencode(ranked)),
            ("distribution", "/api/distribution?" + urlencode(spread)),
        ]


def _viewer(url: str, plan: Plan, deadline: float, seed: int, results: Results, think_s: float) -> None:
    """A person at the page: changes one selector, waits for the four panels (asked at once, as the browser
    does, one connection each), looks for a think time, and again."""
    rng = random.Random(seed)
    page = PageState(metric=rng.choice(METRICS))
    connections = [_Connection(url) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        while _think(rng, think_s, deadline):
            page.change_one(rng, plan)
            started = time.perf_counter()
            asked = page.requests(plan)
            answers = list(pool.map(lambda pair: pair[0].get(pair[1][1]), zip(connections, asked, strict=True)))
            _record(results, "page", time.perf_counter() - started, max(a[1] for a in answers))
            for (kind, _), (elapsed, status, _) in zip(asked, answers, strict=True):
                _record(results, kind, elapsed, status)
    for connection in connections:
        connection.close()


# The server's own line per request (duckwifi/api/app.py): "... GET /api/map?... 200 935B 10.0ms".
_SERVER_LINE = re.compile(r" GET /api/(\w+)\S* \d{3} \d+B ([\d.]+)ms$")


def server_times(log: str) -> dict[str, list[float]]:
    """Seconds the server itself took per request, by endpoint, from its log: what the clients measure less
    the load generator's own waits (its threads share the GIL and the two cores)."""
    times: dict[str, list[float]] = {}
    for line in log.splitlines():
        match = _SERVER_LINE.search(line)
        # /api/meta is the harness's own probe, not the load.
        if match and match.group(1) != "meta":
            times.setdefault(match.group(1), []).append(float(match.group(2)) / 1000)
    return times


def _percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Convert:
    """The convert run while the load runs: into ``warehouse``, of ``csv`` (written first when ``tick``)."""

    warehouse: Path
    csv: Path
    lake: Path
    tick: bool


def run(
    warehouse: Path,
    clients: int,
    seconds: float,
    convert_during: Convert | None,
    think_s: float = 0.0,
    kinds: list[str] | None = None,
    mix: str = "random",
) -> dict:
    kinds = PAGE_KINDS if mix == "page" else kinds or KINDS
    if convert_during is not None and convert_during.tick:
        subprocess.run(
            [sys.executable, "-m", "duckwifi", "tick", "-w", str(warehouse), "--out", str(convert_during.csv)],
            check=True,
            env=_env(),
            capture_output=True,
        )
    # Closed in the finally clause below, once the server has stopped writing to it.
    server_log = tempfile.TemporaryFile("w+")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "duckwifi", "serve", "-w", str(warehouse), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=server_log,
        text=True,
        env=_env(),
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        parsed = urlparse(url)
        assert parsed.hostname == "127.0.0.1", url
        # The load measures a settled server: after start-up it still fills its sketch window (/api/health's
        # warming), a day a poll, which takes both cores for a few seconds a week of data.
        while True:
            probe = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            probe.request("GET", "/api/health")
            warming = json.loads(probe.getresponse().read()).get("warming", False)
            probe.close()
            if not warming:
                break
            time.sleep(0.5)
        probe = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        probe.request("GET", "/api/meta")
        meta = json.loads(probe.getresponse().read())
        probe.close()
        plan = Plan(
            datetime.strptime(meta["first_hour"], FORMAT),
            datetime.strptime(meta["last_hour"], FORMAT),
            int(meta["last_hour_rows"]),
            [s["state"] for s in meta["states"]],
        )
        results = Results()
        deadline = time.monotonic() + seconds
        threads = [
            threading.Thread(target=_viewer, args=(url, plan, deadline, seed, results, think_s))
            if mix == "page"
            else threading.Thread(target=_client, args=(url, plan, deadline, seed, results, think_s, kinds))
            for seed in range(clients)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        convert_s = None
        converting = None
        if convert_during is not None:
            time.sleep(min(5.0, seconds / 4))
            t0 = time.monotonic()
            converting = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "duckwifi",
                    "convert",
                    "-w",
                    str(convert_during.warehouse),
                    str(convert_during.csv),
                    str(convert_during.lake),
                ],
                env=_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        for thread in threads:
            thread.join()
        # Requests per second count the load's own window, not a convert that outlasts it.
        wall = time.monotonic() - started
        if converting is not None:
            _, stderr = converting.communicate()
            if converting.returncode != 0:
                raise RuntimeError(f"the convert during the load failed: {stderr.decode(errors='replace')}")
            convert_s = time.monotonic() - t0
        # The server follows the store by polling it; give it the promised 5 s (and some) to see a convert.
        settle = time.monotonic() + (10 if convert_during is not None and convert_during.tick else 0)
        while True:
            probe = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            probe.request("GET", "/api/meta")
            after = json.loads(probe.getresponse().read())
            probe.close()
            if after["version"] != meta["version"] or time.monotonic() >= settle:
                break
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.seek(0)
        on_server = server_times(server_log.read())
        server_log.close()
    # A page is four requests already counted under their endpoints.
    total = sum(len(v) for k, v in results.latencies.items() if k != "page")
    return {
        "clients": clients,
        "think_ms": round(think_s * 1000),
        "mix": mix,
        "kinds": kinds,
        "seconds": round(wall, 1),
        "requests": total,
        "requests_per_s": round(total / wall, 1),
        "errors": sum(results.errors.values()),
        "partial_answers": results.partial_answers,
        "convert_s": None if convert_s is None else round(convert_s, 1),
        "version_before": meta["version"],
        "version_after": after["version"],
        "fleet": plan.devices,
        "hours": [meta["first_hour"], after["last_hour"]],
        "endpoints": {
            kind: {
                "requests": len(samples),
                "p50_ms": round(_percentile(samples, 0.50) * 1000, 1),
                "p95_ms": round(_percentile(samples, 0.95) * 1000, 1),
                "p99_ms": round(_percentile(samples, 0.99) * 1000, 1),
                "mean_ms": round(statistics.fmean(samples) * 1000, 1) if samples else None,
                "errors": results.errors[kind],
                "server_p50_ms": round(_percentile(on_server.get(kind, []), 0.50) * 1000, 1),
                "server_p95_ms": round(_percentile(on_server.get(kind, []), 0.95) * 1000, 1),
            }
            for kind, samples in results.latencies.items()
            if kind in kinds
        },
    }


def markdown(result: dict, title: str) -> str:
    lines = [
        f"**{title}**: {result['clients']} clients ({result.get('mix', 'random')} mix, think time "
        f"{result.get('think_ms', 0)} ms), "
        f"{result['seconds']} s, {result['requests']:,} requests, "
        f"{result['requests_per_s']} requests/s, {result['errors']} errors, {result['partial_answers']} partial "
        f"answers" + (f", convert of one hour took {result['convert_s']} s" if result["convert_s"] else ""),
        "",
        "| endpoint | requests | p50 ms | p95 ms | p99 ms | errors | in the server: p50 / p95 ms |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for kind, e in result["endpoints"].items():
        inside = f"{e['server_p50_ms']} / {e['server_p95_ms']}" if "server_p50_ms" in e else "-"
        lines.append(
            f"| {kind} | {e['requests']:,} | {e['p50_ms']} | {e['p95_ms']} | {e['p99_ms']} | {e['errors']} | {inside} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="mean think time between a client's requests (default 0)"
    )
    converts = parser.add_mutually_exclusive_group()
    converts.add_argument("--convert-during", nargs=2, type=Path, metavar=("CSV_DIR", "LAKE"))
    converts.add_argument("--convert-beside", nargs=3, type=Path, metavar=("WAREHOUSE", "CSV_DIR", "LAKE"))
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help="the endpoints to mix, comma-separated (default all; the page itself never asks for devices)",
    )
    parser.add_argument(
        "--mix",
        choices=["random", "page"],
        default="random",
        help="random: one request at a time, drawn to miss the answer cache; page: each client is a viewer of the "
        "page who changes one selector and waits for its four panels (--kinds does not apply)",
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--label", default="serve load")
    args = parser.parse_args(argv)
    if args.seconds > 120 or args.clients > 64:
        parser.error("the load test is bounded: at most 120 s and 64 clients")
    convert = None
    if args.convert_during:
        convert = Convert(args.warehouse, *args.convert_during, tick=True)
    elif args.convert_beside:
        convert = Convert(*args.convert_beside, tick=False)
    kinds = args.kinds.split(",")
    if not kinds or not set(kinds) <= set(KINDS):
        parser.error(f"--kinds: choose from {','.join(KINDS)}")
    result = run(args.warehouse, args.clients, args.seconds, convert, args.think_ms / 1000, kinds, args.mix)
    print(markdown(result, args.label))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / "serve_load.json"
        existing = json.loads(target.read_text()) if target.exists() else {}
        existing[args.label] = result
        target.write_text(json.dumps(existing, indent=2) + "\n")


if __name__ == "__main__":
    main()
